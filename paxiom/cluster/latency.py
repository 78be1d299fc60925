"""Commit latency from round-trip times: how long a leader waits for the fastest quorum to answer.

A leader at node L that sends to everyone hears back from the nodes in order of their round-trip time
from L (its own answer is immediate); a phase completes when the nodes heard so far contain a quorum.
The answers are added one by one to an incremental evaluation of the expression (each walks up from the
node only while a gate's verdict changes), so the first quorum prefix and its minimal quorum (slowest
members dropped first) cost O(n · depth) rather than an evaluation of the whole expression per node.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from paxiom.cluster.expr import Expr, Gate, Leaf
from paxiom.errors import PaxiomError

LEADER_LIMIT = 64
"""Up to this many nodes every node is tried as leader; beyond it, the first node of each zone."""


@dataclass
class RoundTrips:
    """Round-trip times resolved on demand from `[latency_ms]` entries between nodes or zones.

    The most specific entry wins (node-node, node-zone, zone-zone, smaller zones first). Rows are
    resolved per leader, so a 1,000-node cluster described per zone never materialises a million pairs.
    """

    nodes: tuple[str, ...]
    groups: list[list[str]]
    """For each node: its own name, then the zones containing it, smallest first."""
    given: dict[tuple[str, str], float]
    where: str
    """Where to point errors: the [latency_ms] table."""
    _rows: dict[int, list[float]] = field(default_factory=dict, repr=False)
    _profiles: list[tuple[str, ...]] = field(default_factory=list, repr=False)

    def row(self, i: int) -> list[float]:
        """Round-trip times from node i to every node (0 to itself), resolved once per distinct profile."""
        if i not in self._rows:
            profiles = self.profiles()
            resolved: dict[tuple[str, ...], float] = {}
            row = []
            for j, profile in enumerate(profiles):
                if j != i and profile not in resolved:
                    resolved[profile] = self._resolve(i, j)
                row.append(0.0 if j == i else resolved[profile])
            self._rows[i] = row
        return self._rows[i]

    def profiles(self) -> list[tuple[str, ...]]:
        """Per node, the names `_resolve` can match for it: nodes no entry names resolve alike per zone list
        (a 1,000-node cluster in 40 zones needs 40 look-ups per row, not 1,000)."""
        if not self._profiles:
            named = {name for pair in self.given for name in pair}
            self._profiles = [
                tuple(g if g in named else "" for g in groups[:1]) + tuple(groups[1:]) for groups in self.groups
            ]
        return self._profiles

    def _resolve(self, i: int, j: int) -> float:
        for g in self.groups[i]:
            for h in self.groups[j]:
                if (g, h) in self.given:
                    return self.given[g, h]
        raise PaxiomError(
            f"[latency_ms] gives no round-trip time between {self.nodes[i]!r} and {self.nodes[j]!r} "
            "(give it for the nodes or for zones containing them)",
            where=self.where,
        )


@dataclass(frozen=True)
class PhaseLatency:
    ms: float
    quorum: int
    """The fastest quorum (inclusion-minimal, slowest members dropped first), as a bitmask."""


def fastest_quorum(expr: Expr, leader: int, row: Sequence[float], tally: Tally | None = None) -> PhaseLatency:
    """How long a leader with round-trip times `row` waits for `expr`'s fastest quorum, and which it is
    (`tally`: `expr`'s, built once for many leaders)."""
    # by round-trip time, ties in file order except that the leader comes first among its ties
    order = sorted(range(len(row)), key=row.__getitem__)
    order.remove(leader)
    order.insert(bisect.bisect_left(order, row[leader], key=row.__getitem__), leader)
    tally = tally or Tally(expr)
    tally.reset()
    heard = 0
    while not tally.set(order[heard], True):  # all n nodes always hold a quorum
        heard += 1
    quorum = 0
    for j in order[: heard + 1]:
        quorum |= 1 << j
    for j in reversed(order[: heard + 1]):
        if tally.set(j, False):
            quorum &= ~(1 << j)
        else:
            tally.set(j, True)
    slowest = max(row[j] for j in order[: heard + 1] if quorum >> j & 1)
    return PhaseLatency(slowest, quorum)


class Tally:
    """`expr` evaluated on a set that changes one node at a time. Every occurrence of a sub-expression is a
    position with its parent, its weight there and (for gates) the weight of its satisfied arguments."""

    def __init__(self, expr: Expr) -> None:
        self.parent: list[int] = []
        self.weight: list[int] = []
        self.threshold: list[int] = []
        self.occurrences: dict[int, list[int]] = {}
        stack: list[tuple[Expr, int, int]] = [(expr, -1, 0)]
        while stack:
            node, parent, weight = stack.pop()
            here = len(self.parent)
            self.parent.append(parent)
            self.weight.append(weight)
            if isinstance(node, Leaf):
                self.threshold.append(1)
                self.occurrences.setdefault(node.index, []).append(here)
            else:
                self.threshold.append(node.threshold)
                stack += ((arg, here, w) for arg, w in zip(node.args, node.weights, strict=True))
        self.reset()

    def reset(self) -> None:
        """The empty set: no argument satisfied, no gate holding."""
        self.reached: list[int] = [0] * len(self.parent)
        self.holds: list[bool] = [False] * len(self.parent)

    def set(self, node: int, present: bool) -> bool:
        """Add or remove `node` (it must be absent or present respectively); whether the expression holds."""
        for leaf in self.occurrences.get(node, ()):
            self.holds[leaf] = present
            child, up = leaf, self.parent[leaf]
            while up >= 0:
                self.reached[up] += self.weight[child] if present else -self.weight[child]
                now = self.reached[up] >= self.threshold[up]
                if now == self.holds[up]:
                    break
                self.holds[up] = now
                child, up = up, self.parent[up]
        return self.holds[0]


def preferred_alternatives(expr: Expr, quorum: int) -> list[str]:
    """The top-level sub-expressions the fastest quorum satisfies: the sub-family a leader should prefer
    (empty when the top level lists only nodes: then the quorum itself is the answer)."""
    if isinstance(expr, Leaf):
        return []
    return [a.text for a in expr.args if isinstance(a, Gate) and a.holds(quorum)]


def leaders_to_try(n: int, zones: Mapping[str, tuple[int, ...]]) -> list[int]:
    """Every node in small clusters; in large ones the first node of each zone (or the first few)."""
    if n <= LEADER_LIMIT:
        return list(range(n))
    firsts = sorted({members[0] for members in zones.values() if members})
    return firsts[:LEADER_LIMIT] or list(range(LEADER_LIMIT))


def leader_latencies(
    families: Mapping[str, Expr], trips: RoundTrips, leaders: Sequence[int]
) -> list[dict[str, object]]:
    """For each leader: each family's latency and fastest quorum, best phase-2 commit first."""
    rows: list[dict[str, object]] = []
    nodes = trips.nodes
    tallies = {id(expr): Tally(expr) for expr in families.values()}  # phase2 is often phase1's expression
    for leader in leaders:
        row: dict[str, object] = {"leader": nodes[leader]}
        phases: dict[int, PhaseLatency] = {}
        for name, expr in families.items():
            if id(expr) not in phases:
                phases[id(expr)] = fastest_quorum(expr, leader, trips.row(leader), tallies[id(expr)])
            phase = phases[id(expr)]
            row[name] = {
                "ms": phase.ms,
                "quorum": [nodes[i] for i in range(len(nodes)) if phase.quorum >> i & 1],
                "prefer": preferred_alternatives(expr, phase.quorum),
            }
        rows.append(row)
    rows.sort(key=lambda r: (_ms(r, "phase2"), _ms(r, "phase1")))
    return rows


def _ms(row: Mapping[str, object], family: str) -> float:
    phase = row[family]
    assert isinstance(phase, dict)
    return float(phase["ms"])
