"""The learner role: the chosen log in slot order, its checksum chain, and when to snapshot.

Entries become known chosen (`learn`); once every slot below one is known, it is committed (`advance`):
folded into the checksum chain, kept to serve catch-up, and handed to the host, which applies committed
entries to its state machine in slot order — the core never holds the state machine. Every
`snapshot_interval` committed slots the learner asks the host for a snapshot at the last of them; the
host answers with the state bytes (`sealed`), and the learner seals them with the chain checksum and a
digest, and discards the log below. A replica asking for compacted entries gets the snapshot. A catch-up
reply is bounded in bytes, so a long prefix goes in chunks, each asked for in turn. Catch-up replies are
verified link by link before anything in them is committed (`verify`, `verify_snapshot`:
the spots the mutant catalogue overrides). Local invariants: the commit index never goes back, and a
committed slot's value never changes; a peer's decision contradicting ours raises an alarm.
"""

from __future__ import annotations

from paxiom.impl.checksum import GENESIS, chain, state_digest
from paxiom.impl.config import ReplicaConfig
from paxiom.impl.invariant import BrokenInvariant
from paxiom.impl.messages import CatchUpReply, ChosenEntry, Snapshot
from paxiom.impl.storage import SaveChosen, SaveSnapshot, Write
from paxiom.impl.values import Value, value_bytes

ENTRY_BYTES = 96
"""At least the wire bytes of a chosen entry besides its value (slot, checksum, headers); a snapshot's
besides its state is below twice that."""


def entry_bytes(entry: ChosenEntry) -> int:
    return value_bytes(entry.value) + ENTRY_BYTES


def reply_bytes(reply: CatchUpReply) -> int:
    snapshot = 0 if reply.snapshot is None else len(reply.snapshot.state) + 2 * ENTRY_BYTES
    return snapshot + sum(map(entry_bytes, reply.entries))


def _link(entry: ChosenEntry) -> tuple[int, Value, bytes]:
    return entry.slot, entry.value, entry.checksum


def may_be_cut(reply: CatchUpReply, limit: int, largest_entry: int) -> bool:
    """Whether `catch_up_reply(..., limit)` may have left entries out of `reply`: it stops only where the next
    entry (at most `largest_entry` bytes) would not fit, so a shorter reply holds everything its sender had."""
    return reply_bytes(reply) > limit - largest_entry


class Learner:
    def __init__(
        self,
        snapshot_interval: int,
        snapshot: Snapshot | None = None,
        chosen: dict[int, Value] | None = None,
    ) -> None:
        self.snapshot_interval = snapshot_interval
        self.snapshot: Snapshot | None = None
        self.last = -1
        """The last committed slot (every slot up to it is known chosen and handed to the host)."""
        self.checksum = GENESIS
        """The chain checksum of the committed prefix."""
        self.log: dict[int, ChosenEntry] = {}
        """Committed entries above the snapshot, kept to serve catch-up."""
        self.pending: dict[int, Value] = {}
        """Entries known chosen but not committed yet (a gap below them)."""
        self.requested = -1
        """The slot of the latest snapshot taken or asked for."""
        self.alarms: list[str] = []
        """Integrity failures detected in catch-up: divergent or corrupted logs that were refused."""
        self.restore: Snapshot | None = None
        """A snapshot the host must restore before applying what is committed next."""
        if snapshot is not None:
            self._adopt(snapshot)
        self.pending.update({s: v for s, v in (chosen or {}).items() if s > self.last})

    @property
    def commit(self) -> int:
        """The first slot not committed: every slot below it is chosen and known here."""
        return self.last + 1

    def chosen_value(self, slot: int) -> Value | None:
        """The value known chosen in `slot`, if it is known and not compacted away."""
        if slot in self.pending:
            return self.pending[slot]
        entry = self.log.get(slot)
        return entry.value if entry is not None else None

    def knows_chosen(self, slot: int) -> bool:
        return slot <= self.last or slot in self.pending

    def learn(self, slot: int, value: Value) -> list[Write]:
        """Record that `value` is chosen in `slot`; durable before anyone is told it was applied."""
        if self.knows_chosen(slot):
            known = self.chosen_value(slot)
            if known is not None and known != value:
                self.alarms.append(f"slot {slot}: told {value!r:.60} was chosen, but {known!r:.60} was")
            return []
        self.pending[slot] = value
        return [SaveChosen(slot, value)]

    def advance(self) -> tuple[list[ChosenEntry], int | None]:
        """Commit every entry whose predecessors are committed: the entries for the host to apply, in slot
        order, and the slot to snapshot at once they are applied (when one is due)."""
        committed: list[ChosenEntry] = []
        snapshot_at: int | None = None
        while self.last + 1 in self.pending:
            slot = self.last + 1
            value = self.pending.pop(slot)
            if slot in self.log and self.log[slot].value != value:
                raise BrokenInvariant(f"committed slot {slot} would change its value")
            self.last = slot
            self.checksum = chain(self.checksum, slot, value)
            entry = self.log[slot] = ChosenEntry(slot, value, self.checksum)
            committed.append(entry)
            if slot - self.requested >= self.snapshot_interval:
                snapshot_at = self.requested = slot
        return committed, snapshot_at

    def sealed(self, slot: int, state: bytes, switches: tuple[ChosenEntry, ...] = ()) -> SaveSnapshot | None:
        """The host's state after applying every slot up to `slot`, sealed with the chain checksum there
        and the configuration `switches` it must carry (`impl.reconfig`); the log below is discarded. None
        when a newer snapshot has already replaced that point."""
        entry = self.log.get(slot)
        if entry is None or (self.snapshot is not None and slot <= self.snapshot.last_slot):
            return None
        digest = state_digest(state, entry.checksum, map(_link, switches))
        self.snapshot = Snapshot(slot, state, entry.checksum, digest, switches)
        self.log = {s: e for s, e in self.log.items() if s > slot}
        return SaveSnapshot(self.snapshot)

    def _adopt(self, snapshot: Snapshot) -> None:
        if snapshot.last_slot < self.last:
            raise BrokenInvariant(f"a snapshot up to slot {snapshot.last_slot} would take the commit index back")
        self.snapshot = self.restore = snapshot
        self.last = self.requested = snapshot.last_slot
        self.checksum = snapshot.checksum
        self.log = {s: e for s, e in self.log.items() if s > snapshot.last_slot}
        self.pending = {s: v for s, v in self.pending.items() if s > snapshot.last_slot}

    def catch_up_reply(self, first_slot: int, limit: int = ReplicaConfig.catch_up_bytes) -> CatchUpReply | None:
        """What a replica that has committed everything below `first_slot` is missing, if we have more:
        the snapshot if it compacted slots it needs, then the committed entries above it, as many as fit in
        `limit` bytes (`reply_bytes`; the first item always goes). The receiver asks for the rest."""
        snapshot = self.snapshot if self.snapshot and first_slot <= self.snapshot.last_slot else None
        start = snapshot.last_slot + 1 if snapshot else first_slot
        entries: list[ChosenEntry] = []
        room = limit - (0 if snapshot is None else reply_bytes(CatchUpReply(snapshot, ())))
        for slot in range(start, self.last + 1):
            entry = self.log[slot]
            room -= entry_bytes(entry)
            if room < 0 and (entries or snapshot is not None):
                break
            entries.append(entry)
        if snapshot is None and not entries:
            return None
        return CatchUpReply(snapshot, tuple(entries))

    def verify_snapshot(self, snapshot: Snapshot) -> str | None:
        """Why a snapshot from a peer must be refused (its digest does not seal its state), if it must."""
        if state_digest(snapshot.state, snapshot.checksum, map(_link, snapshot.switches)) != snapshot.digest:
            return f"refused a snapshot up to slot {snapshot.last_slot}: its digest does not verify"
        return None

    def verify(self, entry: ChosenEntry, checksum: bytes, known: Value | None) -> str | None:
        """Why a catch-up entry must be refused, if it must: `checksum` is what the chain gives at its slot
        (ours, or the reply's own links from our prefix on) and `known` the value we know chosen there."""
        if entry.checksum != checksum:
            if entry.slot <= self.last:
                return f"divergent log at slot {entry.slot}: checksums differ; refused catch-up"
            return f"catch-up entry at slot {entry.slot} fails its checksum; refused"
        if known is not None and known != entry.value:
            return f"divergent log at slot {entry.slot}: catch-up disagrees with what we learned"
        return None

    def install(self, reply: CatchUpReply) -> tuple[list[Write], bool]:
        """Adopt a verified chosen prefix: returns the writes and whether the reply's snapshot replaced our
        prefix (the host restores it). Stops at the first entry whose checksum does not verify."""
        writes: list[Write] = []
        restored = False
        snap = reply.snapshot
        if snap is not None and snap.last_slot > self.last:
            refusal = self.verify_snapshot(snap)
            if refusal is not None:
                self.alarms.append(refusal)
                return writes, restored
            self._adopt(snap)
            writes.append(SaveSnapshot(snap))
            restored = True
        prev, next_slot = self.checksum, self.last + 1
        for entry in reply.entries:
            if entry.slot <= self.last:
                mine = self.log.get(entry.slot)
                if mine is not None and (refusal := self.verify(entry, mine.checksum, None)) is not None:
                    self.alarms.append(refusal)
                    break
                continue
            if entry.slot != next_slot:
                break
            expected = chain(prev, entry.slot, entry.value)
            refusal = self.verify(entry, expected, self.pending.get(entry.slot))
            if refusal is not None:
                self.alarms.append(refusal)
                break
            prev, next_slot = expected, next_slot + 1
            self.pending.pop(entry.slot, None)
            writes += self.learn(entry.slot, entry.value)
        return writes, restored
