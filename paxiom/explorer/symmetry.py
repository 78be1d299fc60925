"""Symmetry reduction over acceptors and values: explore one state of each orbit.

Renaming acceptors (among those the quorum families treat alike) or values maps every behaviour of
Paxos to another behaviour, and every invariant is blind to names. So the explorer keeps one
representative per orbit and counts orbits instead of states. A violation found on representatives is
replayed back onto real states from the initial state (`search.lift`), so the trace shown is an ordinary
trace of the spec, and as short as any: renaming preserves the number of steps from the (name-blind)
initial state.

The representative is the renamed copy with the smallest score, computed for every renaming at once
without building the copies: each part of a state (a message, an acceptor's entry at its position) has a
code per renaming, 64 bits each packed side by side in one integer, and a state's score under each
renaming is the XOR of its parts' codes. The codes are digests of the renamed parts, so every process
computes the same ones. Two different copies with equal scores are not told apart, so an orbit may be
counted twice (a 2^-64 event per pair); no state is ever skipped for it.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from itertools import permutations
from typing import Any

from paxiom.explorer.fingerprint import BITS, MEMO_LIMIT, Fingerprints, digest
from paxiom.spec.quorums import QuorumFamily, QuorumSystem

SYMMETRIC_VARIANTS = ("paxos", "multipaxos", "fastpaxos")
"""Variants whose states name acceptors and values only in the roles below (reconfig's configurations
single out acceptors, and its switch commands are values unlike the others)."""
ACCEPTOR_INDEXED = ("max_bal", "max_vbal", "max_val")
"""State fields holding one entry per acceptor, in acceptor order; the only other field is `msgs`."""
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
        self.p = p
        self.order = tuple(p.index(a) for a in range(len(p)))  # the acceptor whose entry lands at position a
        self.values = values
        self.renamed: dict[Any, Any] = {}
        """Each message renamed so far: a spec's messages repeat across states."""

    def value(self, x: Any) -> Any:
        if isinstance(x, str):
            return self.values.get(x, x)
        if isinstance(x, tuple):
            return tuple(self.value(y) for y in x)
        return x

    def message(self, m: Any) -> Any:
        changes = {f: self.value(getattr(m, f)) for f in VALUE_FIELDS if f in m._fields}
        if "acc" in m._fields:
            changes["acc"] = self.p[m.acc]
        return m._replace(**changes)

    def entry(self, e: tuple[Any, ...]) -> tuple[Any, ...]:
        """An acceptor's entry (its values of ACCEPTOR_INDEXED), renamed."""
        return tuple(self.value(x) if f in VALUE_FIELDS else x for f, x in zip(ACCEPTOR_INDEXED, e, strict=True))

    def renamed_message(self, m: Any) -> Any:
        r = self.renamed.get(m)
        if r is None:
            if len(self.renamed) >= MEMO_LIMIT:
                self.renamed.clear()
            r = self.renamed[m] = self.message(m)
        return r

    def __call__(self, s: Any) -> Any:
        entries = [self.entry(e) for e in zip(*(getattr(s, f) for f in ACCEPTOR_INDEXED), strict=True)]
        moved = [entries[a] for a in self.order]
        fields = {f: tuple(e[i] for e in moved) for i, f in enumerate(ACCEPTOR_INDEXED)}
        return s._replace(msgs=frozenset(map(self.renamed_message, s.msgs)), **fields)


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
        self.encode = Fingerprints().encode
        self.message_codes: dict[Hashable, int] = {}
        self.entry_codes: dict[Hashable, int] = {}

    def __len__(self) -> int:
        return len(self.group)

    def orbit(self, s: Any) -> Iterator[Any]:
        return (g(s) for g in self.group)

    def packed(self, part: Hashable, rename: str, position: int = -1) -> int:
        """The codes of one part of a state under every renaming, 64 bits per renaming."""
        code = 0
        for i, g in enumerate(self.group):
            renamed = g.message(part) if rename == "message" else (g.p[position], g.entry(part))  # type: ignore[arg-type]
            code |= digest(self.encode(renamed)) << (BITS * i)
        return code

    def representative(self, s: Any) -> Any:
        """The renamed copy of `s` with the smallest score: the same for every state of an orbit."""
        codes, packed, score = self.message_codes, self.packed, 0
        for m in s.msgs:
            code = codes.get(m)
            if code is None:
                code = codes[m] = packed(m, "message")
            score ^= code
        codes = self.entry_codes
        for a, e in enumerate(zip(*(getattr(s, f) for f in ACCEPTOR_INDEXED), strict=True)):
            code = codes.get((a, e))
            if code is None:
                code = codes[(a, e)] = packed(e, "entry", a)
            score ^= code
        scores = memoryview(score.to_bytes(BITS // 8 * len(self.group), "little")).cast("Q")
        best = min(range(len(scores)), key=scores.__getitem__)
        return s if best == 0 else self.group[best](s)  # the group's first renaming is the identity
