"""Fault tolerance: how many crashes it takes to leave no quorum, and which zones can be lost.

The fewest crashes that make a family unavailable is the smallest set f of nodes such that the survivors
contain no quorum; for a monotone family that is "the expression is false on the complement of f".
When no node appears twice in the expression (a read-once formula: majorities, thresholds, zones of
zones, rows of a grid) the answer composes bottom-up: a gate fails once arguments of total weight
`total - K + 1` fail, and the cheapest such arguments are a small knapsack. Otherwise (or when the
weights make that knapsack too large) Z3 finds it by binary search on |f| over the certifier's 0/1
encoding. Either way nothing is enumerated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from paxiom.cluster.certify import Problem, holds, ints, mask_of_model
from paxiom.cluster.expr import Expr, Leaf, read_once, support
from paxiom.cluster.selection import TooLarge, cheapest_selection


@dataclass(frozen=True)
class Tolerance:
    min_crashes: int
    """The fewest crashed nodes after which no quorum of the family is alive."""
    example: int
    """One such set of nodes, as a bitmask."""
    method: str


def min_crashes(expr: Expr, n: int) -> Tolerance:
    """The smallest set of nodes whose crash leaves no quorum of `expr` (exact either way)."""
    try:
        cost, mask = _cheapest_failure(expr)
    except TooLarge:  # weights too large and varied for the bottom-up table: Z3 decides it symbolically
        return _min_crashes_z3(expr, n, support(expr))
    if read_once(expr):
        return Tolerance(cost, mask, "read-once formula, composed bottom-up")
    return _min_crashes_z3(expr, n, mask)


def _cheapest_failure(expr: Expr) -> tuple[int, int]:
    """(fewest crashes, which nodes) that falsify a read-once expression.

    With nodes shared between branches each occurrence is counted as if it were a separate node, so the
    cost is an upper bound and the nodes still falsify the expression: a good start for Z3.
    """
    if isinstance(expr, Leaf):
        return 1, 1 << expr.index
    need = expr.total_weight - expr.threshold + 1  # weight of arguments that must fail
    options = [(*_cheapest_failure(arg), weight) for arg, weight in zip(expr.args, expr.weights, strict=True)]
    cost, mask = cheapest_selection(options, need)
    return int(cost), mask


def _min_crashes_z3(expr: Expr, n: int, best: int) -> Tolerance:
    """Binary search below the known failing set `best`, probing just under it first."""
    import z3  # only here: read-once answers need no Z3, and importing it costs a tenth of a second

    problem = Problem()
    crashed = problem.vector("f", n, support(expr))
    problem.require(f"(not {holds(expr, [f'(- 1 {f})' for f in crashed])})")
    solver = problem.solver()
    low, high = 1, best.bit_count()
    size = z3.Sum(ints(crashed))
    first_probe = True
    while low < high:
        mid = high - 1 if first_probe else (low + high) // 2
        first_probe = False
        solver.push()
        solver.add(size <= mid)
        if solver.check() == z3.sat:
            best = mask_of_model(solver.model(), crashed)
            high = best.bit_count()
        else:
            low = mid + 1
        solver.pop()
    return Tolerance(high, best, "Z3 (binary search on the number of crashes)")


def zones_that_can_be_lost(
    families: Mapping[str, Expr], zones: Mapping[str, tuple[int, ...]], n: int
) -> list[dict[str, object]]:
    """For each zone: whether every family still has a quorum when all its nodes are down."""
    everyone = (1 << n) - 1
    result: list[dict[str, object]] = []
    for zone, members in zones.items():
        survivors = everyone & ~sum(1 << i for i in members)
        alive = {name: expr.holds(survivors) for name, expr in families.items()}
        result.append({"zone": zone, "nodes": len(members), **alive, "live": alive["phase1"] and alive["phase2"]})
    return result
