"""The one combinatorial step behind bottom-up answers on read-once formulas.

A threshold gate holds when its satisfied arguments weigh at least K, and fails when arguments of weight
at least `total - K + 1` fail. Both "the cheapest quorum" (load's pricing step) and "the fewest crashes"
(fault tolerance) therefore pick, per gate, the cheapest arguments reaching a weight: sort for unit
weights or equal costs, a bounded 0/1 knapsack otherwise (the table used to be sized by the raw weights:
weights of 10^9 allocated gigabytes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Option = tuple[float, int, int]
"""(cost, node bitmask, weight) of one argument."""

TABLE_CELLS = 4_000_000
"""Largest knapsack table (items x capacity) built; a bigger one raises TooLarge instead of eating memory."""


class TooLarge(Exception):
    """The weights are too large and too varied for an exact table; callers fall back (Z3) or decline."""


def cheapest_selection(options: Sequence[Option], need: int) -> tuple[float, int]:
    """Arguments of total weight >= `need` with the least total cost: (cost, union of their nodes).

    Unit weights sort; equal costs take the heaviest first; otherwise a 0/1 knapsack over the weights
    divided by their gcd (so weights of 10^9 that are all equal cost nothing), or over integer costs
    when that table is smaller. Raises TooLarge past TABLE_CELLS.
    """
    if all(w == 1 for *_, w in options):
        return _take(sorted(options, key=lambda o: o[0]), need)
    if len({c for c, _, _ in options}) == 1:
        return _take(sorted(options, key=lambda o: -o[2]), need)
    g = math.gcd(*(w for *_, w in options))
    scaled_need = -(-need // g)
    scaled = [(c, m, min(w // g, scaled_need)) for c, m, w in options]
    if scaled_need * len(options) <= TABLE_CELLS:
        return _by_weight(scaled, scaled_need)
    if all(float(c).is_integer() for c, _, _ in options):
        budget = int(sum(c for c, _, _ in options))
        if budget * len(options) <= TABLE_CELLS:
            return _by_cost(scaled, scaled_need, budget)
    raise TooLarge(f"a weighted gate needing weight {need:,} over {len(options)} arguments")


def _take(ordered: Sequence[Option], need: int) -> tuple[float, int]:
    """The shortest prefix of `ordered` reaching weight `need`."""
    cost, mask, weight = 0.0, 0, 0
    for c, m, w in ordered:
        if weight >= need:
            break
        cost, mask, weight = cost + c, mask | m, weight + w
    assert weight >= need, "the arguments' total weight is below the need"
    return cost, mask


def _by_weight(options: Sequence[Option], need: int) -> tuple[float, int]:
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


def _by_cost(options: Sequence[Option], need: int, budget: int) -> tuple[float, int]:
    # heaviest[c]: the heaviest selection of total cost exactly c; the answer is the cheapest reaching `need`
    heaviest: list[tuple[int, int] | None] = [(0, 0)] + [None] * budget
    for cost, mask, weight in options:
        step = int(cost)
        for c in range(budget - step, -1, -1):
            here = heaviest[c]
            if here is None:
                continue
            current = heaviest[c + step]
            if current is None or here[0] + weight > current[0]:
                heaviest[c + step] = (here[0] + weight, here[1] | mask)
    for c, found in enumerate(heaviest):
        if found is not None and found[0] >= need:
            return float(c), found[1]
    raise AssertionError("the arguments' total weight is below the need")
