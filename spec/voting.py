"""The voting layer every Paxos variant refines: who voted for what at which ballot, and what is chosen.

This is the abstraction of Lamport's `Voting` spec, which his `Paxos` spec implements: safety is argued
entirely in terms of votes and promises, so the same invariants serve single-decree, Multi- and Fast Paxos
(Multi-Paxos applies them per slot; Fast Paxos uses fast quorums at fast ballots).

A vote is `(acceptor, ballot, value)`. `quorum_at(ballot)` gives the quorum table that decides a value at
that ballot: the phase-2 quorums at classic ballots, the fast quorums at fast ones.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import TypeVar

Vote = tuple[int, int, str]
QuorumTable = Sequence[bool]
QuorumAt = Callable[[int], QuorumTable]
R = TypeVar("R")


def voters_by_ballot_value(votes: Iterable[Vote]) -> dict[tuple[int, str], int]:
    """Bitmask of the acceptors that voted for each (ballot, value)."""
    masks: dict[tuple[int, str], int] = {}
    for acc, bal, val in votes:
        masks[bal, val] = masks.get((bal, val), 0) | 1 << acc
    return masks


def chosen(votes: Iterable[Vote], quorum_at: QuorumAt) -> set[str]:
    """Values for which some quorum of the ballot's kind voted at one ballot."""
    return {val for (bal, val), mask in voters_by_ballot_value(votes).items() if quorum_at(bal)[mask]}


def choosable_at(
    voters: Mapping[tuple[int, str], int], max_bal: Sequence[int], ballot: int, table: QuorumTable
) -> tuple[set[str], bool]:
    """What may be (or is) chosen at `ballot`: the voted values some quorum has voted for or may still, and
    whether a value nobody voted for there could still be chosen.

    An acceptor may still vote at `ballot` if it has not voted there and has promised nothing higher; a value
    is choosable if its voters plus those free acceptors contain a quorum of the ballot's kind.
    """
    voted_there = 0
    for (bal, _), mask in voters.items():
        if bal == ballot:
            voted_there |= mask
    free = sum(1 << a for a, promise in enumerate(max_bal) if promise <= ballot) & ~voted_there
    values = {val for (bal, val), mask in voters.items() if bal == ballot and table[free | mask]}
    return values, table[free]


def unsafe_vote(
    votes: Collection[Vote], max_bal: Sequence[int], values: Collection[str] | None, quorum_at: QuorumAt
) -> str | None:
    """The first vote for v at b cast while another value is chosen or still choosable below b, explained.

    This is Lamport's SafeAt(b, v) in its semantic form: no w != v is chosen or choosable at any c < b.
    `values` is the value domain (None: unbounded, so some value nobody voted for always exists).
    """
    voters = voters_by_ballot_value(votes)
    voted_ballots = {bal for bal, _ in voters}
    seen: dict[int, tuple[set[str], bool]] = {}
    examine: dict[int, list[int]] = {}
    for bal, val in sorted(voters):
        if bal not in examine:
            examine[bal] = _ballots_to_examine(voted_ballots, bal)
        for lower in examine[bal]:
            if lower not in seen:
                seen[lower] = choosable_at(voters, max_bal, lower, quorum_at(lower))
            rivals, unvoted_choosable = seen[lower]
            if rivals - {val}:
                rival = min(rivals - {val})
                return f"a vote for {val!r} at ballot {bal} while {rival!r} is choosable at ballot {lower}"
            if unvoted_choosable and (values is None or _another_unvoted(values, voters, lower, val)):
                return f"a vote for {val!r} at ballot {bal} while any other value is choosable at ballot {lower}"
    return None


def _another_unvoted(values: Collection[str], voters: Mapping[tuple[int, str], int], ballot: int, val: str) -> bool:
    """Whether the domain holds a value other than `val` that nobody voted for at `ballot`."""
    voted_there = {w for (c, w) in voters if c == ballot}
    return any(w != val and w not in voted_there for w in values)


def _ballots_to_examine(voted: Collection[int], below: int) -> list[int]:
    """Every voted ballot below `below`, plus the highest unvoted one.

    At an unvoted ballot c the free acceptors are those promised at most c, a set that only grows with c,
    so the highest unvoted ballot below `below` is the one where a quorum is likeliest to be free.
    """
    lower = [c for c in voted if c < below]
    unvoted = below - 1
    while unvoted in voted:
        unvoted -= 1
    return [*lower, unvoted] if unvoted >= 0 else lower


def promised_quorums(quorums: Iterable[int], heard: Mapping[int, R]) -> Iterator[dict[int, R]]:
    """The phase-1 reports of each quorum (bitmasks) all of whose members have promised, by acceptor.

    A leader may act on any such quorum, so the spec allows whatever the rule allows for any one of them.
    """
    heard_mask = sum(1 << a for a in heard)
    for q in quorums:
        if q & heard_mask == q:
            yield {a: report for a, report in heard.items() if q >> a & 1}


def highest_vote(reports: Collection[tuple[int, str | None]]) -> tuple[int, set[str]]:
    """The leader's rule: the highest ballot among phase-1 reports `(mbal, mval)` and the values voted there
    ((-1, {}) if nobody reported a vote). Classic Paxos then must propose that value.

    post: __return__[0] == max([b for b, v in reports if v is not None and b >= 0], default=-1)
    post: all((__return__[0], w) in reports for w in __return__[1])
    post: (__return__[0] == -1) == (len(__return__[1]) == 0)
    """
    top, vals = -1, set[str]()
    for mbal, mval in reports:
        if mbal > top and mval is not None:
            top, vals = mbal, {mval}
        elif mbal == top and mbal >= 0 and mval is not None:
            vals.add(mval)
    return top, vals
