"""The acceptor role: one promise covering every slot, and the latest vote per slot.

Each handler returns the writes the host must make durable and the reply to send once they are. Slots
below `floor` are compacted into a snapshot: they are chosen, so the acceptor neither votes there nor
reports votes there. The rules a bug would break are small named methods (`joins`, `admits`,
`raises_promise`, `report`, `promise_writes`, `vote_writes`); the mutant catalogue overrides them
(`paxiom.impl.sim.mutants`). The local invariants are checked on every step: the promise never
decreases, and no vote is cast below the promise.
"""

from __future__ import annotations

from paxiom.impl.ballot import NULL_BALLOT, Ballot
from paxiom.impl.invariant import BrokenInvariant
from paxiom.impl.messages import Accepted, Nack, Promise, Vote
from paxiom.impl.storage import SavePromise, SaveVote, Write
from paxiom.impl.values import Value


class Acceptor:
    def __init__(self, promise: Ballot = NULL_BALLOT, votes: dict[int, Vote] | None = None, floor: int = 0) -> None:
        self.promise = promise
        self.votes: dict[int, Vote] = dict(votes or {})
        self.floor = floor

    # ------------------------------------------------------------------ the rules

    def joins(self, ballot: Ballot) -> bool:
        """Phase 1b joins only a ballot above the promise: a repeat of the current one is not answered
        again (a second answer could report votes cast since, which the first did not)."""
        return ballot > self.promise

    def admits(self, ballot: Ballot) -> bool:
        """Phase 2b votes at the promised ballot or above, never below."""
        return ballot >= self.promise

    def raises_promise(self, ballot: Ballot) -> bool:
        """Voting at a ballot above the promise promises that ballot too."""
        return ballot > self.promise

    def report(self, first_slot: int) -> tuple[Vote, ...]:
        """The votes a Promise reports: every vote in slots `first_slot` and above."""
        return tuple(vote for slot, vote in sorted(self.votes.items()) if slot >= first_slot)

    def promise_writes(self, ballot: Ballot) -> list[Write]:
        return [SavePromise(ballot)]

    def vote_writes(self, vote: Vote) -> list[Write]:
        return [SaveVote(vote)]

    # ------------------------------------------------------------------ the handlers

    def on_prepare(self, ballot: Ballot, first_slot: int) -> tuple[list[Write], Promise | Nack | None]:
        """Phase 1b: join `ballot` if the rules allow; a Nack if it is below the promise."""
        if not self.joins(ballot):
            return [], (Nack(self.promise) if ballot < self.promise else None)
        self._promise(ballot)
        return self.promise_writes(ballot), Promise(ballot, first_slot, self.report(first_slot))

    def on_accept(self, ballot: Ballot, slot: int, value: Value) -> tuple[list[Write], Accepted | Nack | None]:
        """Phase 2b: vote unless a higher ballot has been promised; voting raises the promise."""
        if slot < self.floor:
            return [], None
        if not self.admits(ballot):
            return [], Nack(self.promise)
        self.check_vote(ballot)
        writes: list[Write] = []
        if self.raises_promise(ballot):
            self._promise(ballot)
            writes += self.promise_writes(ballot)
        vote = Vote(slot, ballot, value)
        self.votes[slot] = vote
        return writes + self.vote_writes(vote), Accepted(ballot, slot, value)

    def compact(self, floor: int) -> None:
        """Forget votes below `floor`: those slots are chosen and covered by a snapshot."""
        if floor > self.floor:
            self.floor = floor
            self.votes = {s: v for s, v in self.votes.items() if s >= floor}

    # ------------------------------------------------------------------ local invariants

    def _promise(self, ballot: Ballot) -> None:
        if ballot < self.promise:
            raise BrokenInvariant(f"the promise would fall from {self.promise} to {ballot}")
        self.promise = ballot

    def check_vote(self, ballot: Ballot) -> None:
        """No vote below the promise."""
        if ballot < self.promise:
            raise BrokenInvariant(f"a vote at ballot {ballot}, below the promise {self.promise}")
