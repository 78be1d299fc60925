"""Quorum systems: which sets of acceptors may act together in each phase.

Acceptors are numbered 0..n-1 (names are for display). A *quorum family* is a monotone predicate on sets
of acceptors: any superset of a quorum is a quorum. Safety never needs more than the intersection
conditions below, which is why Flexible Paxos lets phase-1 and phase-2 quorums differ (Howard, Malkhi,
Spiegelman 2016). Classic Paxos is the case where both families are the majorities.

Sets are passed as bitmasks (bit i = acceptor i) because the explorer asks "is this a quorum?" millions of
times; `members()` and `mask_of()` translate. Enumeration is for small clusters only; large systems are
decided symbolically by the Z3 certifier (`paxiom quorum check`), which plugs into the same interface.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

ENUMERATION_LIMIT = 20
"""Largest cluster whose quorums we enumerate (2^20 subsets); beyond it, use the Z3 certifier."""


def mask_of(members: Iterable[int]) -> int:
    """The bitmask of a set of acceptor indices."""
    mask = 0
    for i in members:
        mask |= 1 << i
    return mask


def members(mask: int) -> frozenset[int]:
    """The acceptor indices in a bitmask."""
    return frozenset(i for i in range(mask.bit_length()) if mask >> i & 1)


class QuorumFamily(ABC):
    """A monotone family of acceptor sets over `nodes`."""

    def __init__(self, nodes: Sequence[str]) -> None:
        if not nodes:
            raise ValueError("a quorum family needs at least one node")
        if len(set(nodes)) != len(nodes):
            raise ValueError(f"duplicate node names in {list(nodes)}")
        self.nodes: tuple[str, ...] = tuple(nodes)

    @property
    def n(self) -> int:
        return len(self.nodes)

    @abstractmethod
    def is_quorum(self, mask: int) -> bool:
        """Whether the acceptors in `mask` contain a quorum of this family."""

    @abstractmethod
    def describe(self) -> str:
        """A short human description, e.g. 'majority of 3'."""

    def _require_small(self) -> None:
        if self.n > ENUMERATION_LIMIT:
            raise ValueError(
                f"{self.describe()}: {self.n} nodes is too many to enumerate (limit {ENUMERATION_LIMIT}); "
                "use the Z3 certifier"
            )

    @cached_property
    def table(self) -> tuple[bool, ...]:
        """`table[mask]` is `is_quorum(mask)`: the explorer's constant-time membership test."""
        self._require_small()
        return tuple(self.is_quorum(mask) for mask in range(1 << self.n))

    @cached_property
    def quorums(self) -> tuple[int, ...]:
        """Every quorum, as bitmasks in increasing order."""
        return tuple(mask for mask, ok in enumerate(self.table) if ok)

    @cached_property
    def minimal_quorums(self) -> tuple[int, ...]:
        """Quorums none of whose proper subsets is a quorum, smallest first."""
        table = self.table
        minimal = [q for q in self.quorums if not any(table[q & ~(1 << i)] for i in range(self.n) if q >> i & 1)]
        return tuple(sorted(minimal, key=lambda q: (q.bit_count(), q)))

    def names(self, mask: int) -> list[str]:
        """The display names of the acceptors in `mask`."""
        return [self.nodes[i] for i in sorted(members(mask))]

    def is_monotone(self) -> bool:
        """Whether adding an acceptor to a quorum always leaves a quorum (enumerative)."""
        table = self.table
        return all(table[q | 1 << i] for q in self.quorums for i in range(self.n))


class Threshold(QuorumFamily):
    """Any `k` acceptors (the size form of Flexible Paxos: |Q1| + |Q2| > n suffices)."""

    def __init__(self, nodes: Sequence[str], k: int) -> None:
        super().__init__(nodes)
        if not 1 <= k <= self.n:
            raise ValueError(f"threshold {k} is outside 1..{self.n}")
        self.k = k

    def is_quorum(self, mask: int) -> bool:
        return mask.bit_count() >= self.k

    def describe(self) -> str:
        return f"any {self.k} of {self.n}"


class Majority(Threshold):
    """More than half of the acceptors: the classic Paxos quorums."""

    def __init__(self, nodes: Sequence[str]) -> None:
        super().__init__(nodes, len(nodes) // 2 + 1)

    def describe(self) -> str:
        return f"majority of {self.n}"


class Explicit(QuorumFamily):
    """The listed sets and all their supersets."""

    def __init__(self, nodes: Sequence[str], quorums: Iterable[Iterable[str]]) -> None:
        super().__init__(nodes)
        index = {name: i for i, name in enumerate(self.nodes)}
        bases: list[int] = []
        for quorum in quorums:
            names = list(quorum)
            unknown = [name for name in names if name not in index]
            if unknown:
                raise ValueError(f"quorum {names} names unknown nodes {unknown}")
            if not names:
                raise ValueError("an empty quorum would let every set act alone")
            bases.append(mask_of(index[name] for name in names))
        if not bases:
            raise ValueError("an explicit quorum family needs at least one quorum")
        self.bases = tuple(bases)

    def is_quorum(self, mask: int) -> bool:
        return any(base & mask == base for base in self.bases)

    def describe(self) -> str:
        return "any of " + ", ".join("{" + ",".join(self.names(b)) + "}" for b in self.bases)


@dataclass(frozen=True)
class Violation:
    """Quorums that should share an acceptor but do not: the raw material of a counterexample."""

    condition: str
    quorums: tuple[tuple[str, int], ...]
    """(family name, bitmask) for each quorum involved."""

    def describe(self, nodes: Sequence[str]) -> str:
        parts = [f"{fam} {{{', '.join(nodes[i] for i in sorted(members(m)))}}}" for fam, m in self.quorums]
        return f"{self.condition} fails: " + " and ".join(parts) + " share no acceptor"


@dataclass(frozen=True)
class QuorumSystem:
    """The quorum families a protocol run uses. `fast` is set only for Fast Paxos."""

    phase1: QuorumFamily
    phase2: QuorumFamily
    fast: QuorumFamily | None = None
    name: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        families = [self.phase1, self.phase2] + ([self.fast] if self.fast else [])
        if any(f.nodes != self.phase1.nodes for f in families):
            raise ValueError("all quorum families of a system must range over the same nodes")

    @property
    def nodes(self) -> tuple[str, ...]:
        return self.phase1.nodes

    @property
    def n(self) -> int:
        return self.phase1.n

    @classmethod
    def majority(cls, n: int) -> QuorumSystem:
        nodes = acceptor_names(n)
        return cls(Majority(nodes), Majority(nodes), name=f"majority of {n}")

    @classmethod
    def flexible(cls, n: int, q1: int, q2: int) -> QuorumSystem:
        nodes = acceptor_names(n)
        return cls(Threshold(nodes, q1), Threshold(nodes, q2), name=f"|Q1|={q1}, |Q2|={q2} of {n}")

    @classmethod
    def fast_paxos(cls, n: int, classic: int, fast: int) -> QuorumSystem:
        nodes = acceptor_names(n)
        c = Threshold(nodes, classic)
        return cls(c, c, Threshold(nodes, fast), name=f"classic {classic}, fast {fast} of {n}")

    def describe(self) -> str:
        text = f"phase 1: {self.phase1.describe()}; phase 2: {self.phase2.describe()}"
        return text + (f"; fast: {self.fast.describe()}" if self.fast else "")


def acceptor_names(n: int) -> tuple[str, ...]:
    """The default display names a1..an."""
    return tuple(f"a{i + 1}" for i in range(n))


def phase1_meets_phase2(qs: QuorumSystem) -> Violation | None:
    """Flexible Paxos: every phase-1 quorum shares an acceptor with every phase-2 quorum.

    Checking minimal quorums suffices: if two minimal quorums meet, so do all their supersets.
    """
    for q1, q2 in itertools.product(qs.phase1.minimal_quorums, qs.phase2.minimal_quorums):
        if q1 & q2 == 0:
            return Violation("phase-1 x phase-2 intersection", (("phase-1", q1), ("phase-2", q2)))
    return None


def phase1_meets_two_fast(qs: QuorumSystem) -> Violation | None:
    """Fast Paxos: any phase-1 quorum and any two fast quorums share an acceptor (Lamport 2006).

    This is what lets a coordinator recovering from a collision see which value (if any) a fast quorum
    may have chosen: it is the one voted by every acceptor of Q ∩ R it heard from.
    """
    if qs.fast is None:
        return None
    fast = qs.fast.minimal_quorums
    for q1 in qs.phase1.minimal_quorums:
        for f1, f2 in itertools.combinations_with_replacement(fast, 2):
            if q1 & f1 & f2 == 0:
                return Violation("phase-1 x fast x fast intersection", (("phase-1", q1), ("fast", f1), ("fast", f2)))
    return None


def quorum_intersection(qs: QuorumSystem) -> Violation | None:
    """The configuration-level invariant: every intersection condition this system's protocol needs."""
    return phase1_meets_phase2(qs) or phase1_meets_two_fast(qs)
