"""The one combinatorial step behind bottom-up answers on read-once formulas.

A threshold gate holds when its satisfied arguments weigh at least K, and fails when arguments of weight
at least `total - K + 1` fail. Both "the cheapest quorum" (load's pricing step) and "the fewest crashes"
(fault tolerance) therefore pick, per gate, the cheapest arguments reaching a weight: sort for unit
weights, a 0/1 knapsack on weight otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

Option = tuple[float, int, int]
"""(cost, node bitmask, weight) of one argument."""


def cheapest_selection(options: Sequence[Option], need: int) -> tuple[float, int]:
    """Arguments of total weight >= `need` with the least total cost: (cost, union of their nodes)."""
    if all(w == 1 for *_, w in options):
        chosen = sorted(options, key=lambda o: o[0])[:need]
        mask = 0
        for _, m, _ in chosen:
            mask |= m
        return sum(c for c, _, _ in chosen), mask
    # best[w]: the cheapest selection reaching weight w (capped at `need`); items used at most once
    best: list[tuple[float, int] | None] = [(0.0, 0)] + [None] * need
    for cost, mask, weight in options:
        for w in range(need, -1, -1):
            here = best[w]
            if here is None:
                continue
            to = min(need, w + weight)
            current = best[to]
            if current is None or here[0] + cost < current[0]:
                best[to] = (here[0] + cost, here[1] | mask)
    answer = best[need]
    assert answer is not None, "the arguments' total weight is below the need"
    return answer
