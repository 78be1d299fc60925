"""The quorum expression tree: monotone threshold formulas over a cluster's nodes.

Every construct of the language is one kind of node, a threshold gate: its arguments carry weights and
the gate holds when the satisfied arguments weigh at least `threshold`. `all(...)` is the gate whose
threshold is the total weight, `any(...)` the gate of threshold 1, `majority(...)` more than half the
total, `K of (...)` threshold K. A node inside a gate weighs its `[weights]` entry, a sub-expression 1.
One representation serves evaluation on bitmasks (the explorer), the Z3 encoding (the certifier) and
minimal-quorum enumeration (the load LP).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from paxiom.spec.quorums import QuorumFamily


@dataclass(frozen=True, eq=False)
class Leaf:
    """One node: holds when the node is in the set."""

    index: int

    def holds(self, mask: int) -> bool:
        return bool(mask >> self.index & 1)


@dataclass(frozen=True, eq=False)
class Gate:
    """A threshold gate: holds when the satisfied arguments weigh at least `threshold`."""

    op: str
    """'all', 'any', 'majority' or 'of' — how it was written, for messages."""
    threshold: int
    args: tuple[Expr, ...]
    weights: tuple[int, ...]
    text: str
    """The source text of this gate."""
    _unit_leaves: int = field(init=False, repr=False)
    _other: tuple[tuple[Expr, int], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Unit-weight leaves are counted with one popcount: the explorer evaluates gates millions of times.
        unit = 0
        other: list[tuple[Expr, int]] = []
        for arg, weight in zip(self.args, self.weights, strict=True):
            if isinstance(arg, Leaf) and weight == 1:
                unit |= 1 << arg.index
            else:
                other.append((arg, weight))
        object.__setattr__(self, "_unit_leaves", unit)
        object.__setattr__(self, "_other", tuple(other))

    @property
    def total_weight(self) -> int:
        return sum(self.weights)

    def holds(self, mask: int) -> bool:
        total = (mask & self._unit_leaves).bit_count()
        if total >= self.threshold:
            return True
        for arg, weight in self._other:
            if arg.holds(mask):
                total += weight
                if total >= self.threshold:
                    return True
        return False


Expr = Leaf | Gate


def walk(expr: Expr) -> Iterator[Expr]:
    """Every node of the tree, parents before children."""
    yield expr
    if isinstance(expr, Gate):
        for arg in expr.args:
            yield from walk(arg)


def read_once(expr: Expr) -> bool:
    """Whether no node occurs twice: then answers compose bottom-up, gate by gate."""
    leaves = [e.index for e in walk(expr) if isinstance(e, Leaf)]
    return len(leaves) == len(set(leaves))


def support(expr: Expr) -> int:
    """The bitmask of every node the expression mentions (built as bytes: linear in the number of nodes)."""
    indices = [e.index for e in walk(expr) if isinstance(e, Leaf)]
    bitmap = bytearray(max(indices) // 8 + 1)
    for i in indices:
        bitmap[i >> 3] |= 1 << (i & 7)
    return int.from_bytes(bitmap, "little")


class ClusterFamily(QuorumFamily):
    """A quorum family defined by an expression of the cluster language; plugs into `QuorumSystem`."""

    def __init__(self, nodes: Sequence[str], expr: Expr, text: str) -> None:
        super().__init__(nodes)
        self.expr = expr
        self.text = text

    def is_quorum(self, mask: int) -> bool:
        return self.expr.holds(mask)

    def describe(self) -> str:
        return self.text
