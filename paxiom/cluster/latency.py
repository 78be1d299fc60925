"""Commit latency from round-trip times: how long a leader waits for the fastest quorum to answer.

A leader at node L that sends to everyone hears back from the nodes in order of their round-trip time
from L (its own answer is immediate); a phase completes when the nodes heard so far contain a quorum.
Because families are monotone, the first such prefix is found by binary search over that order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from paxiom.cluster.expr import Expr, Gate, Leaf


@dataclass(frozen=True)
class PhaseLatency:
    ms: float
    quorum: int
    """The fastest quorum (inclusion-minimal, slowest members dropped first), as a bitmask."""


def fastest_quorum(expr: Expr, leader: int, rtt: Mapping[tuple[int, int], float], n: int) -> PhaseLatency:
    order = sorted(range(n), key=lambda j: (0.0 if j == leader else rtt[leader, j], j != leader, j))
    prefix = [0]
    for j in order:
        prefix.append(prefix[-1] | 1 << j)
    low, high = 1, n  # the smallest prefix length that holds a quorum; all n nodes always do
    while low < high:
        mid = (low + high) // 2
        if expr.holds(prefix[mid]):
            high = mid
        else:
            low = mid + 1
    quorum = prefix[low]
    for j in reversed(order[:low]):
        if expr.holds(quorum & ~(1 << j)):
            quorum &= ~(1 << j)
    slowest = max(0.0 if j == leader else rtt[leader, j] for j in order[:low] if quorum >> j & 1)
    return PhaseLatency(slowest, quorum)


def preferred_alternatives(expr: Expr, quorum: int, nodes: tuple[str, ...]) -> list[str]:
    """Which arguments of the top-level gate the fastest quorum satisfies: the sub-family to prefer."""
    if isinstance(expr, Leaf):
        return [nodes[expr.index]]
    return [nodes[a.index] if isinstance(a, Leaf) else a.text for a in expr.args if a.holds(quorum)]


def leader_latencies(
    families: Mapping[str, Expr], rtt: Mapping[tuple[int, int], float], nodes: tuple[str, ...]
) -> list[dict[str, object]]:
    """For every node as leader: each family's latency and fastest quorum, best phase-2 commit first."""
    rows: list[dict[str, object]] = []
    n = len(nodes)
    for leader in range(n):
        row: dict[str, object] = {"leader": nodes[leader]}
        for name, expr in families.items():
            phase = fastest_quorum(expr, leader, rtt, n)
            row[name] = {
                "ms": phase.ms,
                "quorum": [nodes[i] for i in range(n) if phase.quorum >> i & 1],
                "prefer": preferred_alternatives(expr, phase.quorum, nodes) if isinstance(expr, Gate) else [],
            }
        rows.append(row)
    rows.sort(key=lambda r: (_ms(r, "phase2"), _ms(r, "phase1")))
    return rows


def _ms(row: Mapping[str, object], family: str) -> float:
    phase = row[family]
    assert isinstance(phase, dict)
    return float(phase["ms"])
