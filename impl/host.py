"""The one host driver: persist → sync → send → restore/apply/snapshot → reply, for every `Ready` in turn.

The simulator and the real server both run a replica through `Host`, so what the simulator tests is what
production runs. After every input the host takes the core's `Ready`, hands its writes to the pluggable
`Storage` (`append(writes) -> ticket`) and queues it. When the storage reports a ticket synced
(`Host.synced(ticket)`: that append and every earlier one are durable), the host carries out the queued
Readys up to it, strictly in order: it sends their messages, restores the state machine from a snapshot
the core handed over, applies the committed entries, takes the snapshots the core asked for and reports
them back (`snapshot_taken`), and answers clients with each entry's results. A Ready without writes waits
for the ones before it. Several Readys may wait on one sync (group commit); nothing ever blocks.

Threading: a host is driven from one thread (an asyncio loop, say). A storage that syncs on a worker
thread must hand its completion back to that thread, e.g. `loop.call_soon_threadsafe(host.synced,
ticket)`; a storage that is durable as soon as it returns (the simulator's) calls `synced` from within
`append`, which the host allows.

Every input, write batch (announced by an `Intent`, written to the sink before the storage gets the batch,
so a kill after the sync cannot leave a durable write the trace never mentioned; then `Synced`), emitted
message, restore and applied entry is also reported to an optional observation sink (`impl.observe`),
which is how the refinement oracle watches a run. Without a sink no record is built (they are a good
part of a bare simulated step's cost).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Protocol

from paxiom.impl.config import ReplicaConfig
from paxiom.impl.messages import ChosenEntry, Envelope
from paxiom.impl.observe import (
    Alarm,
    Applied,
    Intent,
    MsgId,
    Receive,
    Record,
    Restored,
    Sent,
    Start,
    Submit,
    Synced,
    Tick,
)
from paxiom.impl.replica import Replica
from paxiom.impl.statemachine import StateMachine
from paxiom.impl.storage import DurableState, Ready, Write
from paxiom.impl.values import Command


class Storage(Protocol):
    def append(self, writes: tuple[Write, ...]) -> int:
        """Start making `writes` durable, after everything appended before; returns a ticket. Tickets
        increase with every append; the storage reports each one synced through `Host.synced(ticket)`."""
        ...


Send = Callable[[MsgId, Envelope], object]
"""Put a message on the network; the id travels with it so the receiver can name it (`Host.receive`)."""
Reply = Callable[[Applied], None]
"""An entry was applied: answer the clients waiting on its commands (`Applied.by_command`)."""
Sink = Callable[[Record], None]


class Host:
    def __init__(
        self,
        config: ReplicaConfig,
        sm: StateMachine,
        storage: Storage,
        send: Send,
        *,
        durable: DurableState | None = None,
        incarnation: int = 0,
        reply: Reply | None = None,
        sink: Sink | None = None,
        alarm: Callable[[str], None] | None = None,
        core: type[Replica] = Replica,
    ) -> None:
        """Start (or restart from what `durable` holds) a replica of `config` over state machine `sm`,
        which must be fresh: a restart restores it from the recovered snapshot and re-applies the log."""
        self.me = config.replica_id
        self.incarnation = incarnation
        self.sm = sm
        self.storage = storage
        self._send = send
        self._reply = reply
        self.sink = sink
        """Where observation records go; None builds none. It may be set or cleared between inputs."""
        self._alarm = alarm
        """Told each alarm of the core (a refused catch-up, a snapshot not taken), e.g. to log it."""
        self._sent = 0
        self._waiting: deque[tuple[Ready, int | None]] = deque()
        """Readys not carried out yet, each with the ticket it waits for (None: nothing to wait for)."""
        self._last_ticket: int | None = None
        self._synced: int | None = None
        self._pumping = False
        durable = durable or DurableState()
        if sink is not None:
            sink(
                Start.of(
                    self.me, incarnation, durable.as_writes(), config.quorums, config.alpha or 0, config.auxiliaries
                )
            )
        self.replica = core(config, durable, incarnation)
        self._pump()

    # ------------------------------------------------------------------ inputs

    def tick(self) -> None:
        if self.sink is not None:
            self.sink(Tick(self.me))
        self.replica.tick()
        self._pump()

    def receive(self, envelope: Envelope, msg_id: MsgId | None = None) -> None:
        if self.sink is not None:
            self.sink(Receive(self.me, msg_id, envelope))
        self.replica.receive(envelope)
        self._pump()

    def submit(self, commands: tuple[Command, ...], direct: bool = False) -> bool:
        """Hand client commands to the core; False when it knows no leader (the client retries later).
        `direct`: the client sent them straight to every acceptor (`Replica.propose`); False: not taken here."""
        accepted = self.replica.propose(commands) if direct else self.replica.submit(commands)
        if self.sink is not None:
            self.sink(Submit(self.me, commands, accepted, direct))
        self._pump()
        return accepted

    def synced(self, ticket: int) -> None:
        """The storage made the append of `ticket`, and every earlier one, durable."""
        if self._synced is None or ticket > self._synced:
            self._synced = ticket
        self._pump()

    @property
    def waiting(self) -> int:
        """Readys queued behind a sync."""
        return len(self._waiting)

    # ------------------------------------------------------------------ the Ready loop

    def _pump(self) -> None:
        if self._pumping:  # a storage syncing inside `append`, or a callback feeding us: the loop below sees it
            return
        self._pumping = True
        try:
            while True:
                if self.replica.has_ready():
                    ready = self.replica.ready()
                    if ready.writes:
                        if self.sink is not None:  # before the storage may make them durable: see `Intent`
                            self.sink(Intent(self.me, ready.writes, ready.emitted))
                        self._last_ticket = self.storage.append(ready.writes)
                    self._waiting.append((ready, self._last_ticket))
                elif self._waiting and self._is_synced(self._waiting[0][1]):
                    self._carry_out(self._waiting.popleft()[0])
                else:
                    return
        finally:
            self._pumping = False

    def _is_synced(self, ticket: int | None) -> bool:
        return ticket is None or (self._synced is not None and ticket <= self._synced)

    def _carry_out(self, ready: Ready) -> None:
        sink = self.sink
        if sink is not None and ready.writes:
            sink(Synced(self.me, ready.writes))
        for envelope in ready.emitted:
            msg_id = MsgId(self.me, self.incarnation, self._sent)
            self._sent += 1
            if sink is not None:
                sink(Sent(self.me, msg_id, envelope))
            if envelope.dst != self.me:
                self._send(msg_id, envelope)
        for text in ready.alarms:
            if sink is not None:
                sink(Alarm(self.me, text))
            if self._alarm is not None:
                self._alarm(text)
        if ready.restore is not None:
            self.sm.restore(ready.restore.state)
            self.replica.applied_through(ready.restore.last_slot)
            if sink is not None:
                sink(Restored(self.me, ready.restore))
        snapshot_at = ready.snapshot
        for entry in ready.committed:
            if snapshot_at is not None and entry.slot > snapshot_at:
                self._snapshot(snapshot_at)
                snapshot_at = None
            self._apply(entry)
        if snapshot_at is not None:
            self._snapshot(snapshot_at)

    def _apply(self, entry: ChosenEntry) -> None:
        results = tuple(self.sm.apply(c) for c in entry.value)
        self.replica.applied_through(entry.slot)
        if self.sink is None and self._reply is None:
            return
        applied = Applied(self.me, entry.slot, entry.value, results)
        if self.sink is not None:
            self.sink(applied)
        if self._reply is not None:
            self._reply(applied)

    def _snapshot(self, slot: int) -> None:
        """The core asked for a snapshot once applied through `slot`; we just have."""
        self.replica.snapshot_taken(slot, self.sm.snapshot())


class ImmediateStorage:
    """Storage that is durable as soon as `append` returns: a `DurableState` in memory (the simulator's
    disk, which survives the replica's crash). Bind it to its host to report every append synced."""

    def __init__(self, disk: DurableState) -> None:
        self.disk = disk
        self.ticket = 0
        self.host: Host | None = None

    def bind(self, host: Host) -> None:
        self.host = host
        if self.ticket:
            host.synced(self.ticket)

    def append(self, writes: tuple[Write, ...]) -> int:
        for write in writes:
            self.disk.persist(write)
        self.ticket += 1
        if self.host is not None:
            self.host.synced(self.ticket)
        return self.ticket
