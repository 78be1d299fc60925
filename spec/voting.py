"""The voting layer every Paxos variant refines: who voted for what at which ballot, and what is chosen.

This is the abstraction of Lamport's `Voting` spec, which his `Paxos` spec implements: safety is argued
entirely in terms of votes and promises, so the same invariants serve single-decree, Multi- and Fast Paxos
(Multi-Paxos applies them per slot; Fast Paxos uses fast quorums at fast ballots).

A vote is `(acceptor, ballot, value)`. `quorum_at(ballot)` gives the quorum table that decides a value at
that ballot: the phase-2 quorums at classic ballots, the fast quorums at fast ones.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

Vote = tuple[int, int, str]
QuorumTable = Sequence[bool]
QuorumAt = Callable[[int], QuorumTable]


def voters_by_ballot_value(votes: Iterable[Vote]) -> dict[tuple[int, str], int]:
    """Bitmask of the acceptors that voted for each (ballot, value)."""
    masks: dict[tuple[int, str], int] = {}
    for acc, bal, val in votes:
        masks[bal, val] = masks.get((bal, val), 0) | 1 << acc
    return masks


def chosen(votes: Iterable[Vote], quorum_at: QuorumAt) -> set[str]:
    """Values for which some quorum of the ballot's kind voted at one ballot."""
    return {val for (bal, val), mask in voters_by_ballot_value(votes).items() if quorum_at(bal)[mask]}


def can_still_vote(votes: Iterable[Vote], max_bal: Sequence[int], ballot: int) -> int:
    """Acceptors that have not voted at `ballot` and have not promised beyond it: they may still vote there."""
    voted = 0
    for acc, bal, _ in votes:
        if bal == ballot:
            voted |= 1 << acc
    return sum(1 << a for a, promise in enumerate(max_bal) if promise <= ballot and not voted >> a & 1)


def choosable(votes: Collection[Vote], max_bal: Sequence[int], ballot: int, value: str, quorum_at: QuorumAt) -> bool:
    """Whether `value` is chosen at `ballot` or could still be: some quorum voted for it or may yet."""
    mask = can_still_vote(votes, max_bal, ballot)
    for acc, bal, val in votes:
        if bal == ballot and val == value:
            mask |= 1 << acc
    return quorum_at(ballot)[mask]


def unsafe_vote(
    votes: Collection[Vote], max_bal: Sequence[int], values: Collection[str] | None, quorum_at: QuorumAt
) -> str | None:
    """The first vote (b, v) cast while another value was chosen or still choosable below b, explained.

    This is Lamport's SafeAt(b, v) in its semantic form: no w != v is chosen or choosable at any c < b.
    `values` is the value domain (None: unbounded, so some value nobody voted for always exists).
    """
    voters = voters_by_ballot_value(votes)
    voted_at: dict[int, int] = {}
    for (bal, _), mask in voters.items():
        voted_at[bal] = voted_at.get(bal, 0) | mask
    free: dict[int, int] = {}
    for bal, val in sorted(voters):
        for lower in _ballots_to_examine(voted_at, bal):
            if lower not in free:
                free[lower] = sum(1 << a for a, p in enumerate(max_bal) if p <= lower) & ~voted_at.get(lower, 0)
            table = quorum_at(lower)
            for (c, rival), mask in voters.items():
                if c == lower and rival != val and table[free[lower] | mask]:
                    return f"a vote for {val!r} at ballot {bal} while {rival!r} is choosable at ballot {lower}"
            voted_there = {w for (c, w) in voters if c == lower}
            unvoted_rival = values is None or any(w != val and w not in voted_there for w in values)
            if unvoted_rival and table[free[lower]]:
                return f"a vote for {val!r} at ballot {bal} while any other value is choosable at ballot {lower}"
    return None


def _ballots_to_examine(voted_at: Mapping[int, int], below: int) -> list[int]:
    """Every voted ballot below `below`, plus the highest unvoted one.

    At an unvoted ballot c the free acceptors are those promised at most c, a set that only grows with c,
    so the highest unvoted ballot below `below` is the one where a quorum is likeliest to be free.
    """
    voted = [c for c in voted_at if c < below]
    unvoted = next((c for c in range(below - 1, -1, -1) if c not in voted_at), None)
    return voted + ([unvoted] if unvoted is not None else [])


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
