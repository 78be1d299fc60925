"""Two disjoint quorums on read-once trees, decided exactly by a dynamic program instead of Z3.

Two families fail to intersect iff some quorum A of the first and B of the second share no node. When
both expressions are read-once and have the same tree (same nodes in the same places and the same
weights; thresholds may differ: a majority against itself, Flexible Paxos's `K1 of` against `K2 of`,
majorities of majorities), a subtree's sub-quorums use only its own nodes, so the question composes
bottom-up. For each subtree we keep three numbers: the fewest nodes of a sub-quorum of the first
expression alone, of the second alone, and of a disjoint pair of both (a node is never in both). A gate
combines its arguments' triples by a small knapsack over (weight reached for the first, for the second),
or in closed form when its arguments are identical subtrees (a threshold over nodes, equal zones), and
identical subtrees are solved once. The root's pair cost is infinite iff the condition holds; otherwise
the cheapest pair is a violation with the fewest nodes in total, which is what Z3's minimisation finds.
"""

from __future__ import annotations

from dataclasses import dataclass

from paxiom.cluster.expr import Expr, Gate, Leaf, read_once
from paxiom.cluster.selection import TooLarge

NONE, FIRST, SECOND, BOTH = 0, 1, 2, 3
"""What an argument contributes: nothing, a sub-quorum of the first, of the second, or one of each."""
INFINITE = 1 << 62
Costs = tuple[int, int, int, int]
"""Fewest nodes for NONE (0), FIRST, SECOND and BOTH; INFINITE when impossible."""
LEAF: Costs = (0, 1, 1, INFINITE)
TABLE_CELLS = 50_000
"""Most (state x argument) steps one weighted gate's table may take (about 0.2 s in Python); past it Z3
decides, which on one big weighted gate takes milliseconds (50 nodes weighing 1-5: 1.1 s here, 0.26 s
for Z3; 100 such nodes: 6.7 s against 16 ms)."""


class NotApplicable(Exception):
    """The expressions are not one read-once tree (or its tables are too large): Z3 decides instead."""


def aligned(a: Expr, b: Expr) -> bool:
    """Whether `a` and `b` are the same tree up to their gates' thresholds."""
    if isinstance(a, Leaf) or isinstance(b, Leaf):
        return isinstance(a, Leaf) and isinstance(b, Leaf) and a.index == b.index
    return (
        a.weights == b.weights
        and len(a.args) == len(b.args)
        and all(aligned(x, y) for x, y in zip(a.args, b.args, strict=True))
    )


def smallest_disjoint(a: Expr, b: Expr) -> tuple[int, int] | None:
    """None when every quorum of `a` meets every quorum of `b`; otherwise disjoint quorums (bitmasks) with
    the fewest nodes in total. Raises NotApplicable unless `a` and `b` are one read-once tree."""
    if not (read_once(a) and aligned(a, b)):
        raise NotApplicable("not one read-once tree")
    solver = _Solver()
    try:
        costs = solver.costs(a, b)
    except TooLarge as exc:
        raise NotApplicable(str(exc)) from None
    if costs[BOTH] >= INFINITE:
        return None
    masks = [0, 0]
    solver.collect(a, b, BOTH, masks)
    return masks[0], masks[1]


@dataclass
class _Table:
    """A gate's answer: its costs and, per target, what each argument contributes."""

    costs: Costs
    choose: dict[int, list[int]]


class _Solver:
    """Memoised on the shape of subtrees, so 40 equal zones are solved once."""

    def __init__(self) -> None:
        self.ids: dict[tuple[object, ...], int] = {}
        self.shape: dict[int, int] = {}  # id(gate of a) -> shape id
        self.tables: dict[int, _Table] = {}

    def costs(self, a: Expr, b: Expr) -> Costs:
        if isinstance(a, Leaf):
            return LEAF
        assert isinstance(b, Gate)
        args = [self.costs(x, y) for x, y in zip(a.args, b.args, strict=True)]
        key = (a.threshold, b.threshold, a.weights, tuple(self._shape_of(x) for x in a.args))
        shape = self.ids.setdefault(key, len(self.ids))
        self.shape[id(a)] = shape
        if shape not in self.tables:
            self.tables[shape] = _gate(args, a.weights, a.threshold, b.threshold)
        return self.tables[shape].costs

    def _shape_of(self, expr: Expr) -> int:
        return -1 if isinstance(expr, Leaf) else self.shape[id(expr)]

    def collect(self, a: Expr, b: Expr, target: int, masks: list[int]) -> None:
        """Add to `masks` the nodes of the cheapest way for the subtree to contribute `target`."""
        if target == NONE:
            return
        if isinstance(a, Leaf):
            masks[target - 1] |= 1 << a.index
            return
        assert isinstance(b, Gate)
        for x, y, part in zip(a.args, b.args, self.tables[self.shape[id(a)]].choose[target], strict=True):
            self.collect(x, y, part, masks)


def _gate(args: list[Costs], weights: tuple[int, ...], k1: int, k2: int) -> _Table:
    if len(set(args)) == 1 and len(set(weights)) == 1:
        return _identical(args[0], len(args), weights[0], k1, k2)
    return _knapsack(args, weights, k1, k2)


def _identical(arg: Costs, m: int, weight: int, k1: int, k2: int) -> _Table:
    """m identical arguments: count how many contribute each way (cheapest first, earliest arguments)."""
    need1, need2 = -(-k1 // weight), -(-k2 // weight)
    one = min(arg[FIRST], arg[BOTH])
    two = min(arg[SECOND], arg[BOTH])
    first = [FIRST if arg[FIRST] <= arg[BOTH] else BOTH] * need1 + [NONE] * (m - need1)
    second = [SECOND if arg[SECOND] <= arg[BOTH] else BOTH] * need2 + [NONE] * (m - need2)
    best, split = INFINITE, (0, 0, 0)
    for both in range(min(m, max(need1, need2)) + 1):
        only1, only2 = max(0, need1 - both), max(0, need2 - both)
        if both + only1 + only2 <= m:
            cost = _add(both * arg[BOTH], only1 * arg[FIRST], only2 * arg[SECOND])
            if cost < best:
                best, split = cost, (both, only1, only2)
    both, only1, only2 = split
    pair = [BOTH] * both + [FIRST] * only1 + [SECOND] * only2
    costs = (0, _add(need1 * one), _add(need2 * two), best)
    return _Table(costs, {FIRST: first, SECOND: second, BOTH: pair + [NONE] * (m - len(pair))})


def _knapsack(args: list[Costs], weights: tuple[int, ...], k1: int, k2: int) -> _Table:
    """States (weight reached for the first, for the second), each capped at its threshold."""
    width = k2 + 1
    size = (k1 + 1) * width
    if size * len(args) > TABLE_CELLS:
        raise TooLarge(f"a gate needing weights {k1:,} and {k2:,} over {len(args)} arguments")
    best = [INFINITE] * size
    best[0] = 0
    layers: list[tuple[bytearray, list[int]]] = []
    for arg, w in zip(args, weights, strict=True):
        options = [(o, arg[o], min(w, k1) if o & FIRST else 0, min(w, k2) if o & SECOND else 0) for o in (1, 2, 3)]
        options = [opt for opt in options if opt[1] < INFINITE]
        new = best[:]
        choice = bytearray(size)
        came = list(range(size))
        for s, here in enumerate(best):
            if here >= INFINITE:
                continue
            r1, r2 = divmod(s, width)
            for o, cost, d1, d2 in options:
                t = min(k1, r1 + d1) * width + min(k2, r2 + d2)
                if here + cost < new[t]:
                    new[t], choice[t], came[t] = here + cost, o, s
        layers.append((choice, came))
        best = new
    ends = {
        FIRST: [k1 * width + r2 for r2 in range(width)],
        SECOND: [r1 * width + k2 for r1 in range(k1 + 1)],
        BOTH: [size - 1],
    }
    costs = [0, INFINITE, INFINITE, INFINITE]
    choose: dict[int, list[int]] = {}
    for target, states in ends.items():
        end = min(states, key=lambda s: best[s])
        costs[target] = best[end]
        parts = [NONE] * len(args)
        if best[end] < INFINITE:
            for i in range(len(args) - 1, -1, -1):
                choice, came = layers[i]
                parts[i] = choice[end]
                end = came[end]
        choose[target] = parts
    return _Table((0, costs[1], costs[2], costs[3]), choose)


def _add(*costs: int) -> int:
    total = sum(costs)
    return INFINITE if total >= INFINITE or any(c >= INFINITE for c in costs) else total
