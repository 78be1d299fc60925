"""Fault tolerance: how many crashes it takes to leave no quorum, and which zones can be lost.

The fewest crashes that make a family unavailable is the smallest set f of nodes such that the survivors
contain no quorum; for a monotone family that is "the expression is false on the complement of f".
Z3 finds it by binary search on |f| over the same 0/1 encoding as the certifier, so 1,000-node systems
are decided without enumerating anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import z3

from paxiom.cluster.certify import holds, mask_of_model, new_solver, zero_one_vector
from paxiom.cluster.expr import Expr


@dataclass(frozen=True)
class Tolerance:
    min_crashes: int
    """The fewest crashed nodes after which no quorum of the family is alive."""
    example: int
    """One such set of nodes, as a bitmask."""


def min_crashes(expr: Expr, n: int) -> Tolerance:
    """The smallest set of nodes whose crash leaves no quorum of `expr` (exact, by Z3)."""
    solver = new_solver()
    crashed = zero_one_vector(solver, "f", n)
    solver.add(z3.Not(holds(expr, [1 - f for f in crashed])))
    verdict = solver.check()
    assert verdict == z3.sat  # crashing every node always works
    best = mask_of_model(solver.model(), crashed)
    low, high = 1, best.bit_count()
    size = z3.Sum(crashed)
    while low < high:
        mid = (low + high) // 2
        solver.push()
        solver.add(size <= mid)
        if solver.check() == z3.sat:
            best = mask_of_model(solver.model(), crashed)
            high = best.bit_count()
        else:
            low = mid + 1
        solver.pop()
    return Tolerance(high, best)


def zones_that_can_be_lost(
    families: Mapping[str, Expr], zones: Mapping[str, tuple[int, ...]], n: int
) -> list[dict[str, object]]:
    """For each zone: whether every family still has a quorum when all its nodes are down."""
    everyone = (1 << n) - 1
    result: list[dict[str, object]] = []
    for zone, members in zones.items():
        survivors = everyone & ~sum(1 << i for i in members)
        alive = {name: expr.holds(survivors) for name, expr in families.items()}
        result.append({"zone": zone, "nodes": len(members), **alive,
                       "live": alive["phase1"] and alive["phase2"]})
    return result
