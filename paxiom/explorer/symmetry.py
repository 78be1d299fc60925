"""Symmetry reduction over acceptors and values: explore one state of each orbit.

Renaming acceptors (among those the quorum families treat alike) or values maps every behaviour of
Paxos to another behaviour, and every invariant is blind to names. So the explorer keeps one
representative per orbit -- the renamed copy with the smallest hash, TLC's choice as well -- and counts
orbits instead of states. A violation found on representatives is replayed back onto real states from the
initial state (`search.lift`), so the trace shown is an ordinary trace of the spec, and as short as any:
renaming preserves the number of steps from the (name-blind) initial state.

Two renamed copies with equal hashes are not told apart, so an orbit may be counted twice (a 2^-64
event per pair); no state is ever skipped for it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from itertools import permutations
from typing import Any

from paxiom.spec.quorums import QuorumFamily, QuorumSystem

SYMMETRIC_VARIANTS = ("paxos", "multipaxos", "fastpaxos")
"""Variants whose states name acceptors and values only in the roles below (reconfig's configurations
single out acceptors, and its switch commands are values unlike the others)."""
ACCEPTOR_INDEXED = ("max_bal", "max_vbal", "max_val")
"""State fields holding one entry per acceptor, in acceptor order."""
VALUE_FIELDS = ("max_val", "val", "mval", "votes")
"""State and message fields holding values (possibly inside tuples, e.g. a 1b's per-slot votes)."""


def automorphisms(qs: QuorumSystem) -> list[tuple[int, ...]]:
    """Every permutation p of the acceptors (a -> p[a]) mapping each quorum family onto itself."""
    families: list[QuorumFamily] = [qs.phase1, qs.phase2, *([qs.fast] if qs.fast else [])]

    def image(p: tuple[int, ...], mask: int) -> int:
        return sum(1 << p[a] for a in range(qs.n) if mask >> a & 1)

    return [p for p in permutations(range(qs.n)) if all(f.table[image(p, q)] for f in families for q in f.quorums)]


class Renaming:
    """One element of the group: acceptor a becomes p[a], value v becomes values[v]."""

    def __init__(self, p: tuple[int, ...], values: dict[str, str]) -> None:
        self.order = tuple(p.index(a) for a in range(len(p)))  # the acceptor whose entry lands at position a
        self.values = values
        self.messages: dict[Hashable, Any] = {}
        self.p = p

    def value(self, x: Any) -> Any:
        if isinstance(x, str):
            return self.values.get(x, x)
        if isinstance(x, tuple):
            return tuple(self.value(y) for y in x)
        return x

    def message(self, m: Any) -> Any:
        renamed = self.messages.get(m)
        if renamed is None:
            changes = {f: self.value(getattr(m, f)) for f in VALUE_FIELDS if f in m._fields}
            if "acc" in m._fields:
                changes["acc"] = self.p[m.acc]
            renamed = self.messages[m] = m._replace(**changes)
        return renamed

    def __call__(self, s: Any) -> Any:
        fields: dict[str, Any] = {}
        for f in ACCEPTOR_INDEXED:
            entries = getattr(s, f)
            moved = [entries[a] for a in self.order]
            fields[f] = tuple(self.value(x) for x in moved) if f in VALUE_FIELDS else tuple(moved)
        message = self.message
        return s._replace(msgs=frozenset([message(m) for m in s.msgs]), **fields)


class Symmetry:
    """The renamings of a model's acceptors and values that leave the model unchanged."""

    def __init__(self, model: Any) -> None:
        if model.variant not in SYMMETRIC_VARIANTS:
            raise ValueError(
                f"symmetry reduction is offered for {', '.join(SYMMETRIC_VARIANTS)}, not {model.variant} "
                "(its configurations or commands tell acceptors and values apart)"
            )
        values = model.cfg.values
        self.group = [
            Renaming(p, dict(zip(values, vs, strict=True)))
            for p in automorphisms(model.cfg.quorums)
            for vs in permutations(values)
        ]

    def __len__(self) -> int:
        return len(self.group)

    def orbit(self, s: Any) -> Iterator[Any]:
        return (g(s) for g in self.group)

    def representative(self, s: Any, h: Callable[[Any], int] = hash) -> tuple[Any, int]:
        """The renamed copy of `s` with the smallest `h`, and that value: equal for every state of an orbit."""
        return min(((t, h(t)) for t in self.orbit(s)), key=lambda pair: pair[1])
