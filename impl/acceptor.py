"""The acceptor role: one promise covering every slot, and the latest vote per slot.

Each handler returns the writes the host must make durable and the reply to send once they are. Slots
below `floor` are compacted into a snapshot: they are chosen, so the acceptor neither votes there nor
reports votes there.
"""

from __future__ import annotations

from paxiom.impl.ballot import NULL_BALLOT, Ballot
from paxiom.impl.messages import Accepted, Nack, Promise, Vote
from paxiom.impl.mutants import Mutation
from paxiom.impl.storage import SavePromise, SaveVote, Write
from paxiom.impl.values import Value


class Acceptor:
    def __init__(
        self,
        mutations: frozenset[Mutation] = frozenset(),
        promise: Ballot = NULL_BALLOT,
        votes: dict[int, Vote] | None = None,
        floor: int = 0,
    ) -> None:
        self.mutations = mutations
        self.promise = promise
        self.votes: dict[int, Vote] = dict(votes or {})
        self.floor = floor

    def on_prepare(self, ballot: Ballot, first_slot: int) -> tuple[list[Write], Promise | Nack | None]:
        """Phase 1b: join `ballot` if it is above the promise. A repeat of the current ballot is ignored
        (answering again could report votes cast since, which the first answer did not)."""
        equal_joins = {Mutation.PROMISE_ON_EQUAL_BALLOT, Mutation.BALLOTS_NOT_UNIQUE} & self.mutations
        joins = ballot >= self.promise if equal_joins else ballot > self.promise
        if not joins:
            return [], (Nack(self.promise) if ballot < self.promise else None)
        self.promise = ballot
        writes: list[Write] = [] if Mutation.PROMISE_NOT_PERSISTED in self.mutations else [SavePromise(ballot)]
        reported = tuple(vote for slot, vote in sorted(self.votes.items()) if slot >= first_slot)
        if Mutation.PROMISE_OMITS_VOTES in self.mutations:
            reported = ()
        return writes, Promise(ballot, first_slot, reported)

    def on_accept(self, ballot: Ballot, slot: int, value: Value) -> tuple[list[Write], Accepted | Nack | None]:
        """Phase 2b: vote unless a higher ballot has been promised; voting raises the promise."""
        if slot < self.floor:
            return [], None
        if ballot < self.promise and Mutation.ACCEPT_BELOW_PROMISE not in self.mutations:
            return [], Nack(self.promise)
        writes: list[Write] = []
        if ballot > self.promise and Mutation.VOTE_KEEPS_OLD_PROMISE not in self.mutations:
            self.promise = ballot
            writes.append(SavePromise(ballot))
        vote = Vote(slot, ballot, value)
        self.votes[slot] = vote
        if Mutation.VOTE_NOT_PERSISTED not in self.mutations:
            writes.append(SaveVote(vote))
        return writes, Accepted(ballot, slot, value)

    def compact(self, floor: int) -> None:
        """Forget votes below `floor`: those slots are chosen and covered by a snapshot."""
        if floor > self.floor:
            self.floor = floor
            self.votes = {s: v for s, v in self.votes.items() if s >= floor}
