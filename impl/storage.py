"""The durability contract: what must be on stable storage before which messages may leave.

In the spirit of etcd-raft's `Ready`: after every input the core hands its host a `Ready` holding
`writes`, `messages` and `committed` entries. The host MUST make every write durable, in order, before
sending any of the messages of the same `Ready` (and before applying or acknowledging anything in
`committed`). A host that honours this
never breaks a promise across a crash: a `Promise` or `Accepted` reply is only ever seen by others once
the promise or vote it reports survives a restart. `DurableState` is what a restarted replica is rebuilt
from; the simulator keeps exactly that across crashes and loses everything else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from paxiom.impl.ballot import NULL_BALLOT, Ballot
from paxiom.impl.messages import ChosenEntry, Envelope, Snapshot, Vote
from paxiom.impl.values import Value


@dataclass(frozen=True, slots=True)
class SavePromise:
    ballot: Ballot


@dataclass(frozen=True, slots=True)
class SaveVote:
    vote: Vote


@dataclass(frozen=True, slots=True)
class SaveChosen:
    slot: int
    value: Value


@dataclass(frozen=True, slots=True)
class SaveSnapshot:
    """Replace the snapshot and drop every vote and chosen entry it covers (log compaction)."""

    snapshot: Snapshot


Write = SavePromise | SaveVote | SaveChosen | SaveSnapshot


@dataclass(frozen=True, slots=True)
class Ready:
    """One batch of the core's output, for the host to carry out in this order (`impl.host.Host` does):
    make `writes` durable; once they are synced, send `messages`, restore `restore` if set, apply
    `committed` in slot order — taking a snapshot once applied through slot `snapshot` if set — and only
    then answer the clients whose commands were applied. Readys are carried out strictly in turn."""

    writes: tuple[Write, ...]
    messages: tuple[Envelope, ...]
    committed: tuple[ChosenEntry, ...]
    """Chosen entries to apply to the state machine, in slot order, continuing the previous Ready's."""
    emitted: tuple[Envelope, ...]
    """Every protocol message produced, including those the replica delivered to itself (its own
    acceptor answering its own proposer): for tracing and the refinement oracle, not for sending."""
    restore: Snapshot | None = None
    """A snapshot to restore the state machine from before applying `committed` (after a restart, or a
    catch-up from a peer that had compacted the slots we lacked)."""
    snapshot: int | None = None
    """Take a snapshot once applied through this slot and report it with `Replica.snapshot_taken`."""
    alarms: tuple[str, ...] = ()
    """Integrity failures detected and refused (a corrupted or divergent catch-up): for the operator."""


@dataclass
class DurableState:
    """Everything a replica keeps across a crash: promise, votes, chosen entries and the latest snapshot."""

    promise: Ballot = NULL_BALLOT
    votes: dict[int, Vote] = field(default_factory=dict)
    chosen: dict[int, Value] = field(default_factory=dict)
    snapshot: Snapshot | None = None

    def persist(self, write: Write) -> None:
        match write:
            case SavePromise(ballot):
                self.promise = ballot
            case SaveVote(vote):
                self.votes[vote.slot] = vote
            case SaveChosen(slot, value):
                self.chosen[slot] = value
            case SaveSnapshot(snapshot):
                self.snapshot = snapshot
                self.votes = {s: v for s, v in self.votes.items() if s > snapshot.last_slot}
                self.chosen = {s: v for s, v in self.chosen.items() if s > snapshot.last_slot}

    def as_writes(self) -> tuple[Write, ...]:
        """The writes that rebuild this state from nothing, snapshot first."""
        out: list[Write] = [SaveSnapshot(self.snapshot)] if self.snapshot is not None else []
        out.append(SavePromise(self.promise))
        out += [SaveVote(vote) for _, vote in sorted(self.votes.items())]
        out += [SaveChosen(slot, value) for slot, value in sorted(self.chosen.items())]
        return tuple(out)

    def copy(self) -> DurableState:
        return DurableState(self.promise, dict(self.votes), dict(self.chosen), self.snapshot)
