"""The one host driver: send → persist → restore/apply/snapshot → reply, then send what waited for the sync.

The simulator and the real server both run a replica through `Host`, so what the simulator tests is what
production runs. After every input the host takes the core's `Ready` (`impl.storage` states the contract)
and at once sends its eager messages (a leader's Accepts, decisions, heartbeats: they wait for no write),
hands its writes to the pluggable `Storage` (`append(writes) -> ticket`), restores the state machine from
a snapshot the core handed over, applies the committed entries, takes the snapshots the core asked for and
reports them back (`snapshot_taken`), and answers clients with each entry's results — a committed entry is
chosen by durable votes, so none of this waits for a sync. The Ready's other messages (votes, promises,
Prepares) are queued with its ticket. When the storage reports a ticket synced (`Host.synced(ticket)`: that
append and every earlier one are durable), the host sends the queued messages up to it, strictly in order,
and hands the replica back its own acceptor's replies to itself. Messages without writes wait for the ones
before them. Several Readys may wait on one sync (group commit); nothing ever blocks.

Threading: a host is driven from one thread (an asyncio loop, say). A storage that syncs on a worker
thread must hand its completion back to that thread, e.g. `loop.call_soon_threadsafe(host.synced,
ticket)`; a storage that is durable as soon as it returns (the simulator's) calls `synced` from within
`append`, which the host allows.

Every input, write batch (announced by an `Intent` with the messages that wait for it, written to the
sink before the storage gets the batch, so a kill after the sync cannot leave a durable write the trace
never mentioned; then `Synced`), emitted message (`Sent`: the eager ones and the requests the replica
delivered to itself when made, the rest when they leave), restore and applied entry is also reported to
an optional observation sink (`impl.observe`), which is how the refinement oracle watches a run. Without a
sink no record is built (they are a good part of a bare simulated step's cost).
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
        self._waiting: deque[tuple[tuple[Write, ...], tuple[Envelope, ...], int | None]] = deque()
        """Each Ready's writes and the messages waiting for them, with the ticket they wait for (None: no
        write was ever appended)."""
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
        """Readys whose messages are queued behind a sync."""
        return len(self._waiting)

    # ------------------------------------------------------------------ the Ready loop

    def _pump(self) -> None:
        if self._pumping:  # a storage syncing inside `append`, or a callback feeding us: the loop below sees it
            return
        self._pumping = True
        try:
            while True:
                if self.replica.has_ready():
                    self._take(self.replica.ready())
                elif self._waiting and self._is_synced(self._waiting[0][2]):
                    self._release(*self._waiting.popleft()[:2])
                else:
                    return
        finally:
            self._pumping = False

    def _is_synced(self, ticket: int | None) -> bool:
        return ticket is None or (self._synced is not None and ticket <= self._synced)

    def _take(self, ready: Ready) -> None:
        """Carry out everything of `ready` that waits for no write, and queue its messages behind its writes."""
        sink = self.sink
        for envelope in ready.looped:
            self._emit(envelope)
        for envelope in ready.eager:
            self._emit(envelope)
        if ready.writes:
            if sink is not None:  # before the storage may make them durable: see `Intent`
                sink(Intent(self.me, ready.writes, ready.messages))
            self._last_ticket = self.storage.append(ready.writes)
        if ready.writes or ready.messages:
            self._waiting.append((ready.writes, ready.messages, self._last_ticket))
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

    def _release(self, writes: tuple[Write, ...], messages: tuple[Envelope, ...]) -> None:
        """`writes` are synced: their messages leave, and our own acceptor's replies go back to the replica."""
        if self.sink is not None and writes:
            self.sink(Synced(self.me, writes))
        for envelope in messages:
            self._emit(envelope)
            if envelope.dst == self.me:
                self.replica.receive(envelope)

    def _emit(self, envelope: Envelope) -> None:
        """Record a message and, unless it is to ourselves, send it."""
        msg_id = MsgId(self.me, self.incarnation, self._sent)
        self._sent += 1
        if self.sink is not None:
            self.sink(Sent(self.me, msg_id, envelope))
        if envelope.dst != self.me:
            self._send(msg_id, envelope)

    def _apply(self, entry: ChosenEntry) -> None:
        results = tuple(map(self.sm.apply, entry.value))
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
