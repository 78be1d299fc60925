"""A Multi-Paxos replica: acceptor, learner and (possible) leader, with no IO and no state machine.

Sans-IO, in etcd-raft's shape (the core decides, the host applies): the host feeds it inputs — `tick()`
from its clock, `receive(envelope)` from the network, `submit(commands)` from clients — then calls
`ready()` and honours the contract of `paxiom.impl.storage.Ready`: send `eager`, persist `writes`,
restore `restore`, apply `committed` to its state machine and answer clients, and send `messages` once the
writes are synced. It reports back
with `applied_through(slot)` and, when a Ready asked for one, `snapshot_taken(slot, state)`;
`paxiom.impl.host.Host` is the one driver doing all of this. The replica never reads a clock, a socket or
a disk, and its only randomness (election timeouts) comes from a generator seeded by the configuration,
so a run is a pure function of its inputs.

The roles are built from the class attributes `acceptor_class`, `proposer_class` and `learner_class`, and
catch-up is served by `catch_up_reply`: the mutant catalogue (`paxiom.impl.sim.mutants`) swaps those, so
production code carries no test machinery. Local invariant: the host applies committed slots contiguously.

Reconfiguration (`impl.reconfig`): every committed entry is shown to the replica's `Configurations` in
slot order, and a snapshot carries the switches it compacts that still govern slots above it; heartbeats
and decisions go to every node any known configuration names.

Requests a replica addresses to itself (its proposer's Prepares and Accepts to its own acceptor) go through
an internal loopback rather than the network, so their writes join the same Ready (`Ready.looped`); its
acceptor's replies to itself wait in `Ready.messages` for those writes to be synced, and the host hands
them back (`receive`): the replica's own promise and vote count towards its quorums only once durable, which
is what lets its Accepts, decisions and applied entries leave without waiting for any sync
(`impl.storage.EAGER`).
"""

from __future__ import annotations

import random
from collections import deque

from paxiom.impl.acceptor import Acceptor
from paxiom.impl.ballot import Ballot
from paxiom.impl.config import ReplicaConfig
from paxiom.impl.invariant import BrokenInvariant
from paxiom.impl.learner import ENTRY_BYTES, Learner, may_be_cut
from paxiom.impl.messages import (
    Accept,
    Accepted,
    CatchUpReply,
    CatchUpRequest,
    Chosen,
    ChosenEntry,
    Envelope,
    Forward,
    Heartbeat,
    Message,
    Nack,
    Prepare,
    Promise,
)
from paxiom.impl.proposer import Outgoing, Proposer, Role
from paxiom.impl.reconfig import Configurations
from paxiom.impl.storage import EAGER, REPLIES, DurableState, Ready, Write
from paxiom.impl.values import Command, Value


class Replica:
    acceptor_class: type[Acceptor] = Acceptor
    proposer_class: type[Proposer] = Proposer
    learner_class: type[Learner] = Learner
    learns_log = True
    """Whether this replica learns the chosen log (a Cheap Paxos auxiliary, `impl.cheap`, does not)."""

    def __init__(self, config: ReplicaConfig, durable: DurableState | None = None, incarnation: int = 0) -> None:
        """Start fresh, or (given what a previous incarnation persisted) rejoin after a crash."""
        config.check()
        self.config = config
        self.me = config.replica_id
        self.rng = random.Random(f"{config.seed}/{config.replica_id}/{incarnation}")
        durable = durable or DurableState()
        snapshot = durable.snapshot
        self.acceptor = self.acceptor_class(durable.promise, durable.votes, snapshot.last_slot + 1 if snapshot else 0)
        self.learner = self.learner_class(config.snapshot_interval, snapshot, durable.chosen)
        switches = snapshot.switches if snapshot else ()
        self.configs = Configurations(config.quorums, config.alpha, switches, config.auxiliaries)
        if snapshot is not None:
            self.configs.skip_to(snapshot.last_slot)
        self.proposer = self.proposer_class(config, self.configs)
        self.clock = 0
        self.heard = 0
        self.last_beat = 0
        self.timeout = self._draw_timeout()
        self._writes: list[Write] = []
        self._messages: list[Envelope] = []
        self._eager: list[Envelope] = []
        self._looped: list[Envelope] = []
        self._emitted: list[Envelope] = []
        self._committed: list[ChosenEntry] = []
        self._snapshot_at: int | None = None
        self.applied = -1
        """The last slot the host reported applied (`applied_through`)."""
        self._restores: deque[int] = deque()
        """Snapshots handed to the host (by their last slot) that it has not reported restoring yet."""
        self._loopback: deque[Envelope] = deque()
        self._settle()

    # ------------------------------------------------------------------ inputs

    def tick(self) -> None:
        """One unit of time passed: heartbeat if leading, stand for election if the leader fell silent."""
        self.clock += 1
        if self.proposer.role is Role.LEADER:
            if self.clock - self.last_beat >= self.config.heartbeat_interval:
                self.last_beat = self.clock
                beat = Heartbeat(self.proposer.ballot, self.learner.commit)
                self._send([(dst, beat) for dst in range(self.configs.universe) if dst != self.me])
                self._send(self.proposer.retransmit(self.learner.commit, self.proposer.patience))
        elif self.clock - self.heard >= self.timeout:
            self._reset_timer()
            self._send(self.proposer.start_election(self.acceptor.promise, self.learner.commit))
        self._settle()

    def receive(self, envelope: Envelope) -> None:
        self._handle(envelope.src, envelope.msg)
        self._settle()

    def submit(self, commands: tuple[Command, ...]) -> bool:
        """Accept client commands if leading, forward them to the believed leader otherwise; False when
        no leader is known (the client should retry later)."""
        hint = self.proposer.leader_hint
        if self.proposer.role is Role.LEADER:
            self.proposer.submit(commands)
        elif hint is not None and hint != self.me:
            self._send([(hint, Forward(commands))])
        else:
            return False
        self._settle()
        return True

    def propose(self, commands: tuple[Command, ...]) -> bool:
        """Client commands sent straight to this acceptor, as to every other (a Fast Paxos client's fast path,
        `impl.fast`): a classic replica takes them only while it leads, so one replica submits them; False
        otherwise (the client falls back to the leader)."""
        return self.proposer.role is Role.LEADER and self.submit(commands)

    def applied_through(self, slot: int) -> None:
        """The host applied the next committed entry, at `slot`, or restored the next snapshot a Ready
        handed it, up to `slot`."""
        if self._restores and slot == self._restores[0]:
            self._restores.popleft()
        else:
            self.check_applied(slot)
        self.applied = slot

    def snapshot_taken(self, slot: int, state: bytes) -> None:
        """The host's state machine after applying every slot up to `slot` (as a Ready's `snapshot`
        asked): sealed with the checksum chain, saved, and the log and votes below it compacted."""
        if slot > self.applied:
            raise BrokenInvariant(f"a snapshot at slot {slot}, but the host has applied only up to {self.applied}")
        if len(state) > self.config.snapshot_bytes:
            self.learner.alarms.append(
                f"snapshot at slot {slot} not taken: its {len(state):,} bytes exceed snapshot_bytes "
                f"({self.config.snapshot_bytes:,}); the log below it is kept"
            )
            return
        write = self.learner.sealed(slot, state, self.configs.retained(slot))
        if write is not None:
            self._writes.append(write)
            self.acceptor.compact(slot + 1)

    def has_ready(self) -> bool:
        """Whether `ready()` would hand over anything (cheaper than building an empty Ready)."""
        learner = self.learner
        produced = self._writes or self._emitted or self._committed
        return bool(produced or learner.restore or learner.alarms) or self._snapshot_at is not None

    def ready(self) -> Ready:
        """Hand over (and forget) everything produced since the last call."""
        if self.learner.restore is not None:
            self._restores.append(self.learner.restore.last_slot)
        out = Ready(
            tuple(self._writes),
            tuple(self._messages),
            tuple(self._committed),
            tuple(self._eager),
            tuple(self._looped),
            tuple(self._emitted),
            self.learner.restore,
            self._snapshot_at,
            tuple(self.learner.alarms),
        )
        self._writes, self._messages, self._committed, self._eager, self._looped = [], [], [], [], []
        self._emitted = []
        self._snapshot_at = self.learner.restore = None
        self.learner.alarms.clear()
        return out

    # ------------------------------------------------------------------ views

    @property
    def role(self) -> Role:
        return self.proposer.role

    def behind(self, commit: int) -> bool:
        """Whether a leader's heartbeat announcing `commit` means we must ask to catch up."""
        return commit > self.learner.commit

    @property
    def commit(self) -> int:
        """Every slot below this is chosen and known here (committed: handed to the host to apply)."""
        return self.learner.commit

    # ------------------------------------------------------------------ internals

    def _draw_timeout(self) -> int:
        base = self.config.election_timeout
        return base + self.rng.randrange(base)

    def _reset_timer(self) -> None:
        self.heard = self.clock
        self.timeout = self._draw_timeout()

    def _send(self, out: Outgoing) -> None:
        """Route each message: to others at once (`EAGER`) or once this Ready is synced; to ourselves, a
        request through the loopback now, a reply once synced (`REPLIES`)."""
        me = self.me
        for dst, msg in out:
            envelope = Envelope(me, dst, msg)
            self._emitted.append(envelope)
            if dst != me:
                (self._eager if isinstance(msg, EAGER) else self._messages).append(envelope)
            elif self.waits_for_sync(msg):
                self._messages.append(envelope)
            else:
                self._looped.append(envelope)
                self._loopback.append(envelope)

    def waits_for_sync(self, msg: Message) -> bool:
        """Whether a message to ourselves waits for this Ready's writes to sync before the host hands it back:
        our acceptor's replies (`REPLIES`), so our own promise or vote never counts before it is durable."""
        return isinstance(msg, REPLIES)

    def _settle(self) -> None:
        """Drain the loopback, commit what became committable, and keep the pipeline full."""
        while True:
            while self._loopback:
                envelope = self._loopback.popleft()
                self._handle(envelope.src, envelope.msg)
            committed, snapshot_at = self.learner.advance()
            for slot in range(self.configs.learned + 1, self.learner.commit):
                self.configs.learn(self.learner.log[slot])
            self._committed += committed
            if snapshot_at is not None:
                self._snapshot_at = snapshot_at
            self._send(self.proposer.propose_pending(self.learner.commit))
            if not self._loopback:
                return

    def _learn(self, slot: int, value: Value) -> None:
        self._writes += self.learner.learn(slot, value)
        self.proposer.forget(slot)

    def _heard_from_leader(self, src: int) -> None:
        self._reset_timer()
        if self.proposer.role is Role.FOLLOWER:
            self.proposer.leader_hint = src

    def _handle(self, src: int, msg: Message) -> None:
        match msg:
            case Prepare(ballot, first_slot):
                self.on_prepare(src, ballot, first_slot)
            case Promise():
                self._send(self.proposer.on_promise(src, msg, dict(self.learner.pending)))
            case Accept(ballot, slot, value):
                if slot < self.acceptor.floor:
                    # chosen and compacted here: the proposer is behind, so hand it our snapshot
                    self._send_prefix(src, slot)
                    return
                writes, reply = self.acceptor.on_accept(ballot, slot, value)
                self._writes += writes
                if isinstance(reply, Accepted):
                    self._send(self.proposer.observe(ballot, self.learner.commit))
                    if src != self.me:
                        self._heard_from_leader(src)
                if reply is not None:
                    self._send([(src, reply)])
            case Accepted(_, slot, _):
                decided = self.proposer.on_accepted(src, msg)
                if decided is not None:
                    self._learn(slot, decided)
                    self._send([(dst, Chosen(slot, decided)) for dst in range(self.configs.universe) if dst != self.me])
            case Nack(promised):
                self._send(self.proposer.observe(promised, self.learner.commit))
            case Heartbeat(ballot, commit):
                if ballot < self.acceptor.promise:
                    self._send([(src, Nack(self.acceptor.promise))])
                    return
                self._send(self.proposer.observe(ballot, self.learner.commit))
                self._heard_from_leader(src)
                if self.behind(commit):
                    self._send([(src, CatchUpRequest(self.learner.commit))])
            case Chosen(slot, value):
                self._learn(slot, value)
            case CatchUpRequest(first_slot):
                self._send_prefix(src, first_slot)
            case CatchUpReply(snapshot, entries):
                self.on_catch_up(msg)
                end = entries[-1].slot if entries else snapshot.last_slot if snapshot else -1
                largest = self.config.batch_bytes + ENTRY_BYTES
                if end >= 0 and self.learner.knows_chosen(end) and may_be_cut(msg, self.config.catch_up_bytes, largest):
                    # installed, and maybe cut short: ask for the next chunk
                    self._send([(src, CatchUpRequest(max(end, self.learner.last) + 1))])
            case Forward(commands):
                if self.proposer.role is Role.LEADER:  # never re-forward: stale hints could ping-pong
                    self.proposer.submit(commands)

    def on_prepare(self, src: int, ballot: Ballot, first_slot: int) -> None:
        """Phase 1b, unless the candidate is behind our snapshot: then it must catch up first, because we
        can no longer report our votes in the slots it would re-propose."""
        snapshot = self.learner.snapshot
        if snapshot is not None and first_slot <= snapshot.last_slot and src != self.me:
            self._send_prefix(src, first_slot)
            return
        writes, answer = self.acceptor.on_prepare(ballot, first_slot)
        self._writes += writes
        if isinstance(answer, Promise):
            self._send(self.proposer.observe(answer.ballot, self.learner.commit))
            if src != self.me:
                self._reset_timer()
        if answer is not None:
            self._send([(src, answer)])

    def catch_up_reply(self, first_slot: int) -> CatchUpReply | None:
        """What we send a replica that asks for the chosen entries from `first_slot` on."""
        return self.learner.catch_up_reply(first_slot, self.config.catch_up_bytes)

    def _send_prefix(self, dst: int, first_slot: int) -> None:
        prefix = self.catch_up_reply(first_slot)
        if prefix is not None:
            self._send([(dst, prefix)])

    def on_catch_up(self, reply: CatchUpReply) -> None:
        writes, restored = self.learner.install(reply)
        self._writes += writes
        if restored and self.learner.snapshot is not None:
            # the snapshot covers whatever this Ready had committed or asked to snapshot so far
            self._committed, self._snapshot_at = [], None
            self.acceptor.compact(self.learner.snapshot.last_slot + 1)
            self.configs.adopt(self.learner.snapshot.switches)
            self.configs.skip_to(self.learner.snapshot.last_slot)
        for slot in list(self.proposer.proposals):
            if self.learner.knows_chosen(slot):
                self.proposer.forget(slot)

    # ------------------------------------------------------------------ local invariants

    def check_applied(self, slot: int) -> None:
        """The host applies committed slots one after another, never past what was committed."""
        if slot != self.applied + 1 or slot > self.learner.last:
            raise BrokenInvariant(
                f"the host applied slot {slot} after slot {self.applied} (committed up to {self.learner.last})"
            )
