"""Invariants checked incrementally: a verdict is reused for every state that agrees on what it reads.

Most steps of a message-set spec change little that a given invariant looks at: a prepare (1a) or a promise
(1b) leaves every vote alone, so `agreement`, `votes_safe` and `validity` cannot change. Each entry of
`READS` names, for one spec invariant *function*, the state fields and message types it reads; the
explorer then computes that view of a state and runs the real spec function only for a view it has not
judged before (185,369 Paxos states have 1,611 distinct sets of votes). The spec's code is untouched and
is what decides every verdict; a function without an entry (a mutant, a variant's own check) is run on
every state. tests/test_explorer_reads.py holds each entry to its function: states that agree on the view
get the same verdict, on unsafe and mutated models too.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from paxiom.spec import multipaxos, paxos
from paxiom.spec.acceptor import promises_only_grow

MEMO_LIMIT = 1 << 20
"""Views remembered per invariant before the memo starts afresh (it must not outgrow the states it saves)."""


@dataclass(frozen=True)
class Reads:
    """The part of a message-set state (`msgs` of messages with a `type`) an invariant depends on."""

    fields: tuple[str, ...]
    messages: frozenset[str]


def _reads(fields: tuple[str, ...], *messages: str) -> Reads:
    return Reads(fields, frozenset(messages))


PROPOSALS_AND_VOTES = _reads((), "2a", "2b")
VOTES_AND_PROMISES = _reads(("max_bal",), "2b")
VOTES = _reads((), "2b")
SENT_BY_ACCEPTORS = _reads(("max_bal", "max_vbal"), "1b", "2b")

READS: Mapping[Callable[..., Any], Reads] = {
    paxos.promise_monotonicity: SENT_BY_ACCEPTORS,
    paxos.one_value_per_ballot: PROPOSALS_AND_VOTES,
    paxos.votes_safe: VOTES_AND_PROMISES,
    paxos.agreement: VOTES,
    paxos.validity: _reads((), "2a", "2b", "any"),
    multipaxos.promise_monotonicity: SENT_BY_ACCEPTORS,
    multipaxos.one_value_per_ballot: PROPOSALS_AND_VOTES,
    multipaxos.votes_safe: VOTES_AND_PROMISES,
    multipaxos.agreement: VOTES,
    multipaxos.validity: PROPOSALS_AND_VOTES,
}
"""Spec invariant function -> what it reads (besides the model's constants). `type_ok` reads everything:
no view would repeat. (`promise_monotonicity` reads promises, votes' ballots and the acceptors' messages:
Multi-Paxos 2/2/0..2 has 26,128 such views in 145,981 states.)"""

STEP_READS: Mapping[Callable[..., Any], tuple[str, ...]] = {promises_only_grow: ("max_bal",)}
"""Spec step invariant function -> the state fields it reads, in the states before and after the step."""

Memo = dict[Hashable, str | None]
"""(invariant index, view) -> verdict."""


class Invariants:
    """A model's state invariants (those selected), each judged once per distinct view where it has one.

    A view is the fields read and the set of messages read, the latter as a bitmask: each message gets a
    bit when first seen, and each invariant a mask of the bits of the message types it reads.
    """

    def __init__(self, checks: list[tuple[str, Callable[[Any], str | None]]]) -> None:
        self.checks = [(name, check, READS.get(getattr(check, "func", None))) for name, check in checks]  # type: ignore[arg-type]
        self.views = [(name, check, fields_of(reads.fields) if reads else None) for name, check, reads in self.checks]
        """Per check, what reading its fields takes (None: run on every state)."""
        self.bits: dict[Hashable, int] = {}
        self.messages: list[Any] = []
        """The message of each bit, in bit order."""
        self.masks = [0] * len(self.checks)
        self.memo: Memo = {}

    def bit(self, m: Any) -> int:
        """A new message's bit, added to the mask of each invariant that reads its type."""
        bit = self.bits[m] = 1 << len(self.messages)
        self.messages.append(m)
        for i, (_, _, reads) in enumerate(self.checks):
            if reads is not None and m.type in reads.messages:
                self.masks[i] |= bit
        return bit

    def broken(self, s: Any) -> tuple[str, str] | None:
        """The first invariant that fails in `s` and why, or None."""
        sent = -1
        memo, masks = self.memo, self.masks
        reason: Any = None
        for i, (name, check, get) in enumerate(self.views):
            if get is None:
                reason = check(s)
            else:
                if sent < 0:
                    sent = self.sent(s.msgs)
                key = (i, sent & masks[i], get(s))
                reason = memo.get(key, memo)
                if reason is memo:
                    reason = remember(memo, key, check(s))
            if reason is not None:
                return name, reason
        return None

    def sent(self, msgs: frozenset[Any]) -> int:
        """The bitmask of a set of messages."""
        try:
            return sum(map(self.bits.__getitem__, msgs))
        except KeyError:
            return sum([self.bits.get(m) or self.bit(m) for m in msgs])


def remember(memo: Memo, key: Hashable, reason: str | None) -> str | None:
    """Record a verdict (the memo starts afresh when full) and return it."""
    if len(memo) >= MEMO_LIMIT:
        memo.clear()
    memo[key] = reason
    return reason


def fields_of(names: tuple[str, ...]) -> Callable[[Any], Hashable]:
    """A function giving a state's values of the fields named, as one hashable value."""
    return attrgetter(*names) if names else lambda _: ()


class Steps:
    """A model's step invariants (those selected), each judged once per distinct pair of the values, before
    and after, of the fields it reads (where `STEP_READS` knows them)."""

    def __init__(self, checks: list[tuple[str, Callable[[Any, Any], str | None]]]) -> None:
        reads = [STEP_READS.get(getattr(check, "func", None)) for _, check in checks]  # type: ignore[arg-type]
        self.views = [
            (name, check, None if r is None else fields_of(r)) for (name, check), r in zip(checks, reads, strict=True)
        ]
        self.memo: Memo = {}

    def broken(self, s: Any, t: Any) -> tuple[str, str] | None:
        """The first step invariant the step from `s` to `t` breaks and why, or None."""
        memo = self.memo
        reason: Any = None
        for i, (name, check, get) in enumerate(self.views):
            if get is None:
                reason = check(s, t)
            else:
                key = (i, get(s), get(t))
                reason = memo.get(key, memo)
                if reason is memo:
                    reason = remember(memo, key, check(s, t))
            if reason is not None:
                return name, reason
        return None
