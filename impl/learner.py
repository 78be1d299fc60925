"""The learner role: the chosen log, applied in slot order, with its checksum chain and snapshots.

Entries become known chosen (`learn`), are applied strictly in slot order to the state machine, and are
folded into the checksum chain as they are applied. Every `snapshot_interval` slots the state machine is
snapshotted and the log below it discarded; a replica that asks for compacted entries gets the snapshot.
Catch-up replies are verified link by link before anything in them is applied.
"""

from __future__ import annotations

from paxiom.impl.checksum import GENESIS, chain, state_digest
from paxiom.impl.messages import CatchUpReply, ChosenEntry, Snapshot, Vote
from paxiom.impl.mutants import Mutation
from paxiom.impl.statemachine import StateMachine
from paxiom.impl.storage import Applied, SaveChosen, SaveSnapshot, Write
from paxiom.impl.values import Value


class Learner:
    def __init__(
        self,
        sm: StateMachine,
        snapshot_interval: int,
        mutations: frozenset[Mutation] = frozenset(),
        snapshot: Snapshot | None = None,
        chosen: dict[int, Value] | None = None,
    ) -> None:
        self.sm = sm
        self.snapshot_interval = snapshot_interval
        self.mutations = mutations
        self.snapshot: Snapshot | None = None
        self.applied = -1
        """The last slot applied to the state machine (every slot up to it is)."""
        self.checksum = GENESIS
        """The chain checksum of the applied prefix."""
        self.log: dict[int, ChosenEntry] = {}
        """Applied entries above the snapshot, kept to serve catch-up."""
        self.pending: dict[int, Value] = {}
        """Entries known chosen but not applied yet (a gap below them)."""
        self.early: set[int] = set()
        self.alarms: list[str] = []
        """Integrity failures detected in catch-up: divergent or corrupted logs that were refused."""
        if snapshot is not None:
            self._restore(snapshot)
        self.pending.update({s: v for s, v in (chosen or {}).items() if s > self.applied})

    @property
    def commit(self) -> int:
        """The first slot not known to be chosen-and-applied: every slot below it is applied."""
        return self.applied + 1

    def chosen_value(self, slot: int) -> Value | None:
        """The value known chosen in `slot`, if it is known and not compacted away."""
        if slot in self.pending:
            return self.pending[slot]
        entry = self.log.get(slot)
        return entry.value if entry is not None else None

    def knows_chosen(self, slot: int) -> bool:
        return slot <= self.applied or slot in self.pending

    def learn(self, slot: int, value: Value) -> list[Write]:
        """Record that `value` is chosen in `slot`; durable before anyone is told it was applied."""
        if self.knows_chosen(slot):
            return []
        self.pending[slot] = value
        return [SaveChosen(slot, value)]

    def apply_ready(self) -> tuple[list[Applied], list[Write]]:
        """Apply every entry whose predecessors are applied; snapshot when due."""
        applied: list[Applied] = []
        writes: list[Write] = []
        if Mutation.APPLY_OUT_OF_ORDER in self.mutations:
            for slot in sorted(set(self.pending) - self.early - {self.applied + 1}):
                self.early.add(slot)
                applied.append(self._execute(slot, self.pending[slot]))
        while self.applied + 1 in self.pending:
            slot = self.applied + 1
            value = self.pending.pop(slot)
            due = slot - (self.snapshot.last_slot if self.snapshot else -1) >= self.snapshot_interval
            stale_state = self.sm.snapshot() if due and Mutation.SNAPSHOT_DROPS_LAST_APPLIED in self.mutations else None
            if slot in self.early:
                self.early.discard(slot)
            else:
                applied.append(self._execute(slot, value))
            self.applied = slot
            self.checksum = chain(self.checksum, slot, value)
            self.log[slot] = ChosenEntry(slot, value, self.checksum)
            if due:
                writes.append(self._take_snapshot(stale_state))
        return applied, writes

    def _execute(self, slot: int, value: Value) -> Applied:
        return Applied(slot, value, tuple(self.sm.apply(command) for command in value))

    def _take_snapshot(self, state: bytes | None) -> SaveSnapshot:
        state = self.sm.snapshot() if state is None else state
        self.snapshot = Snapshot(self.applied, state, self.checksum, state_digest(state, self.checksum))
        self.log = {s: e for s, e in self.log.items() if s > self.applied}
        return SaveSnapshot(self.snapshot)

    def _restore(self, snapshot: Snapshot) -> None:
        self.sm.restore(snapshot.state)
        self.snapshot = snapshot
        self.applied = snapshot.last_slot
        self.checksum = snapshot.checksum
        self.log = {s: e for s, e in self.log.items() if s > snapshot.last_slot}
        self.pending = {s: v for s, v in self.pending.items() if s > snapshot.last_slot}

    def catch_up_reply(self, first_slot: int, votes: dict[int, Vote]) -> CatchUpReply | None:
        """What a replica that has applied everything below `first_slot` is missing, if we have more:
        the snapshot if it compacted slots it needs, then the applied entries above it.
        (`votes` are our acceptor's: only the CATCHUP_SERVES_VOTES mutant ships them.)"""
        snapshot = self.snapshot if self.snapshot and first_slot <= self.snapshot.last_slot else None
        start = snapshot.last_slot + 1 if snapshot else first_slot
        entries = [self.log[s] for s in range(start, self.applied + 1)]
        if Mutation.CATCHUP_SERVES_VOTES in self.mutations:
            prev, slot = self.checksum, self.applied + 1
            while slot in votes:
                prev = chain(prev, slot, votes[slot].value)
                entries.append(ChosenEntry(slot, votes[slot].value, prev))
                slot += 1
        if snapshot is None and not entries:
            return None
        return CatchUpReply(snapshot, tuple(entries))

    def install(self, reply: CatchUpReply) -> tuple[list[Write], bool]:
        """Adopt a verified chosen prefix: returns the writes and whether the state machine was restored
        from the reply's snapshot. Stops at the first entry whose checksum does not verify."""
        writes: list[Write] = []
        restored = False
        verify = Mutation.CATCHUP_WITHOUT_CHECKSUM not in self.mutations
        snap = reply.snapshot
        if snap is not None and snap.last_slot > self.applied:
            if verify and state_digest(snap.state, snap.checksum) != snap.digest:
                self.alarms.append(f"refused a snapshot up to slot {snap.last_slot}: its digest does not verify")
                return writes, restored
            self._restore(snap)
            writes.append(SaveSnapshot(snap))
            restored = True
        prev, next_slot = self.checksum, self.applied + 1
        for entry in reply.entries:
            if entry.slot <= self.applied:
                mine = self.log.get(entry.slot)
                if verify and mine is not None and mine.checksum != entry.checksum:
                    self.alarms.append(f"divergent log at slot {entry.slot}: checksums differ; refused catch-up")
                    break
                continue
            if entry.slot != next_slot:
                break
            expected = chain(prev, entry.slot, entry.value)
            if verify and expected != entry.checksum:
                self.alarms.append(f"catch-up entry at slot {entry.slot} fails its checksum; refused")
                break
            known = self.pending.get(entry.slot)
            if verify and known is not None and known != entry.value:
                self.alarms.append(f"divergent log at slot {entry.slot}: catch-up disagrees with what we learned")
                break
            prev, next_slot = expected, next_slot + 1
            self.pending.pop(entry.slot, None)
            writes += self.learn(entry.slot, entry.value)
        return writes, restored
