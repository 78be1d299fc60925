"""The durability contract: what must be on stable storage before which messages may leave.

In the spirit of etcd-raft's `Ready`: after every input the core hands its host a `Ready` holding
`writes`, `messages`, `eager` messages and `committed` entries. The host MUST make every write durable, in
order, before sending any of the `messages` of the same `Ready` or of a later one: the votes and promises
(`Promise`, `Accepted`, `Nack`) and the Prepares, whose ballot must be durable before anyone joins it
(else a restart could reuse it for another value). A host that honours this never breaks a promise across
a crash: a `Promise` or `Accepted` reply is only ever seen by others — or counted by the replica's own
proposer, which the host hands its own acceptor's replies to at that point — once the promise or vote it
reports survives a restart.

Everything else waits for no write (`EAGER`): a leader's Accepts (phase 2a) go to the followers while its
own vote is being synced, as etcd-raft's leader appends in parallel with its followers (its ballot was made
durable in phase 1, and its own vote counts only once synced); and since every vote counted is durable, a
decision is chosen the moment the core makes it, so `Chosen`, the commit index in heartbeats, applying and
acknowledging clients wait for no write either — the chosen entry's own record (`SaveChosen`) only spares
a restart the catch-up. `DurableState` is what a restarted replica is rebuilt from; the simulator keeps
exactly that across crashes and loses everything else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from paxiom.impl.ballot import NULL_BALLOT, Ballot
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
    Nack,
    Promise,
    Snapshot,
    Vote,
)
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


EAGER = (Accept, Chosen, Heartbeat, CatchUpRequest, CatchUpReply, Forward)
"""Messages to others that depend on no write not yet synced, so they leave as soon as they are made: a
2a's ballot was made durable in phase 1 (the Prepares waited for the candidate's promise, and its own
promise counted only once synced), a decision, a commit index and a catch-up carry only what is chosen, and
a forwarded command nothing durable at all."""
REPLIES = (Promise, Accepted, Nack)
"""An acceptor's answers: addressed to its own replica, they are handed back by the host only once synced
(`Ready.messages`), so the replica's own promise and vote count towards its quorums only once durable."""


@dataclass(frozen=True, slots=True)
class Ready:
    """One batch of the core's output, for the host to carry out (`impl.host.Host` does): send `eager`
    at once; hand `writes` to storage, to be made durable in order; restore `restore` if set and apply
    `committed` in slot order at once — taking a snapshot once applied through slot `snapshot` if set —
    and answer the clients whose commands were applied; once `writes` and every earlier Ready's writes
    are synced, send `messages` (handing those addressed to this replica back to it)."""

    writes: tuple[Write, ...]
    messages: tuple[Envelope, ...]
    """Messages that leave once these writes (and all before them) are synced: to others, and this
    replica's own acceptor's replies to itself (`REPLIES`), which the host hands back then (`Replica.receive`)."""
    committed: tuple[ChosenEntry, ...]
    """Chosen entries to apply to the state machine, in slot order, continuing the previous Ready's."""
    eager: tuple[Envelope, ...] = ()
    """Messages to others that leave at once (`EAGER`), whatever is still being synced."""
    looped: tuple[Envelope, ...] = ()
    """The requests the replica delivered to itself (its own acceptor answering its own proposer), in
    the same Ready as the writes they caused: for tracing and the refinement oracle, not for sending."""
    emitted: tuple[Envelope, ...] = ()
    """Every protocol message produced, in order, those the replica delivered to itself included (for an
    adapter that reports them all, e.g. the conformance suite's)."""
    restore: Snapshot | None = None
    """A snapshot to restore the state machine from before applying `committed` (after a restart, or a
    catch-up from a peer that had compacted the slots we lacked)."""
    snapshot: int | None = None
    """Take a snapshot once applied through this slot and report it with `Replica.snapshot_taken`."""
    alarms: tuple[str, ...] = ()
    """Integrity failures detected and refused (a corrupted or divergent catch-up): for the operator."""

    @property
    def deliveries(self) -> tuple[Envelope, ...]:
        """Every message a host delivers, eager ones first: what a driver whose storage is durable at once
        (a test's) sends or hands back, with no sync to wait for."""
        return self.eager + self.messages


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
