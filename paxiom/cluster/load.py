"""Quorum load (Naor and Wool, 1998): the busiest node's share under the best strategy for picking quorums.

load = min over probability distributions σ on quorums of max over nodes i of Σ_{Q ∋ i} σ(Q).
For a threshold over unit-weight nodes (any K of n) it is K/n exactly: the uniform strategy reaches it and
every quorum has K members, so the shares sum to at least K. Otherwise the linear program is solved with
HiGHS (scipy.optimize.linprog, method="highs"), two ways:

* read-once formulas (no node twice: majorities of majorities, weighted votes, rows of a grid) by column
  generation: the LP starts with one quorum, and its dual prices y (a distribution over nodes) ask for
  the quorum Q minimising y(Q), found bottom-up exactly; min y(Q) is a lower bound on the load and the
  LP's value an upper bound, and we stop when they meet. No quorum list is ever built;
* other formulas over the minimal quorums, generated from the expression (supersets never help a
  strategy). Beyond QUORUM_LIMIT of them or NODE_LIMIT nodes we decline and say so, rather than run for
  minutes as enumerating tools do.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from paxiom.cluster.expr import Expr, Gate, Leaf, read_once, support, walk
from paxiom.cluster.selection import TooLarge, cheapest_selection

QUORUM_LIMIT = 20_000
NODE_LIMIT = 64
"""Largest number of nodes a family may mention for the LP (the quorum cap declines most before this)."""
SOLVER = "HiGHS (scipy.optimize.linprog, method='highs')"
GENERATION_SECONDS = 10.0
"""Budget for column generation; past it we report the bounds reached instead of a value."""
GAP = 1e-7


@dataclass(frozen=True)
class Load:
    value: float | None
    """None when declined."""
    method: str
    note: str = ""


class _TooMany(Exception):
    pass


def quorum_load(expr: Expr) -> Load:
    if isinstance(expr, Gate) and all(isinstance(a, Leaf) for a in expr.args) and set(expr.weights) == {1}:
        return Load(expr.threshold / len(expr.args), "closed form: a K-of-n threshold has load K/n")
    try:
        from scipy.optimize import linprog
    except ImportError:
        return Load(None, "declined", "scipy is not installed (pip install scipy)")
    if read_once(expr):
        try:
            return _column_generation(expr, linprog)
        except TooLarge as exc:
            return Load(None, "declined", f"{exc}: the weights are too large for exact pricing")
    nodes_mentioned = support(expr).bit_count()
    widest = max((len(e.args) for e in walk(expr) if isinstance(e, Gate)), default=0)
    if widest > NODE_LIMIT:  # the minimal-subset search recurses once per argument
        return Load(None, "declined", f"a gate with {widest} arguments: too many for the linear program")
    if nodes_mentioned > NODE_LIMIT:
        return Load(None, "declined", f"{nodes_mentioned} nodes: too many for the linear program (limit {NODE_LIMIT})")
    try:
        quorums = sorted(_minimal_quorums(expr))
    except _TooMany:
        return Load(None, "declined", f"more than {QUORUM_LIMIT:,} minimal quorums: too many for the linear program")
    value, _, _ = _master(quorums, _nodes_of(expr), linprog)
    return Load(value, f"linear program over {len(quorums):,} minimal quorums, solved by {SOLVER}")


def _nodes_of(expr: Expr) -> list[int]:
    mask = support(expr)
    return [i for i in range(mask.bit_length()) if mask >> i & 1]


def _master(quorums: Sequence[int], nodes: Sequence[int], linprog: Any) -> tuple[float, list[float], list[float]]:
    """min L s.t. every node's share of the strategy σ over `quorums` is <= L, Σσ = 1.

    Returns the load, the dual prices of the node rows (a distribution over `nodes`) and each node's
    share under the optimal strategy.
    """
    from scipy.sparse import lil_matrix

    m = len(quorums)
    upper = lil_matrix((len(nodes), m + 1))
    for row, i in enumerate(nodes):
        for col, q in enumerate(quorums):
            if q >> i & 1:
                upper[row, col] = 1.0
        upper[row, m] = -1.0
    result = linprog(
        [0.0] * m + [1.0],
        A_ub=upper.tocsr(),
        b_ub=[0.0] * len(nodes),
        A_eq=[[1.0] * m + [0.0]],
        b_eq=[1.0],
        bounds=[(0, None)] * (m + 1),
        method="highs",
    )
    assert result.status == 0, result.message  # always feasible (σ on any quorum) and bounded (L >= 0)
    sigma = result.x[:m]
    shares = [sum(float(p) for p, q in zip(sigma, quorums, strict=True) if q >> i & 1) for i in nodes]
    return float(result.fun), [max(0.0, -float(d)) for d in result.ineqlin.marginals], shares


def _cheapest_quorum(expr: Expr, price: dict[int, float]) -> tuple[float, int]:
    """The quorum with the least total price, exactly, for a read-once expression."""
    if isinstance(expr, Leaf):
        return price.get(expr.index, 0.0), 1 << expr.index
    options = [(*_cheapest_quorum(arg, price), weight) for arg, weight in zip(expr.args, expr.weights, strict=True)]
    return cheapest_selection(options, expr.threshold)


def _column_generation(expr: Expr, linprog: Any) -> Load:
    nodes = _nodes_of(expr)
    deadline = time.perf_counter() + GENERATION_SECONDS
    columns = _spread_quorums(expr, nodes)
    lower = 0.0
    while True:
        upper, duals, shares = _master(columns, nodes, linprog)
        # Any distribution y over nodes bounds the load below by min_Q y(Q). The LP's duals are one such
        # y, but often degenerate; the optimal strategy's node shares and the uniform distribution are
        # others, and on symmetric systems they close the gap at once.
        quorum = 0
        for guess in (duals, shares, [1.0] * len(nodes)):
            total = sum(guess) or 1.0
            cost, best = _cheapest_quorum(expr, {i: g / total for i, g in zip(nodes, guess, strict=True)})
            lower = max(lower, cost)
            quorum = quorum or best
        if upper - lower <= GAP or quorum in columns:
            method = f"column generation over {len(columns)} generated quorums, solved by {SOLVER}"
            return Load(upper, method)
        if time.perf_counter() > deadline:
            return Load(
                None, "declined", f"column generation ran out of time with the load between {lower:.4f} and {upper:.4f}"
            )
        columns.append(quorum)


def _spread_quorums(expr: Expr, nodes: Sequence[int]) -> list[int]:
    """A warm start: cheapest quorums under prices that double on every use, until each node is in one."""
    price = dict.fromkeys(nodes, 1.0)
    everyone = sum(1 << i for i in nodes)
    columns: list[int] = []
    covered = 0
    while covered != everyone:
        _, quorum = _cheapest_quorum(expr, price)
        if quorum in columns:
            break
        columns.append(quorum)
        covered |= quorum
        for i in nodes:
            if quorum >> i & 1:
                price[i] *= 2
    return columns


def _minimal_quorums(expr: Expr) -> set[int]:
    """Every minimal quorum (and, where nodes are shared between branches, possibly a few supersets)."""
    if isinstance(expr, Leaf):
        return {1 << expr.index}
    children = [_minimal_quorums(a) for a in expr.args]
    result: set[int] = set()
    for chosen in _weight_minimal_subsets(expr.weights, expr.threshold):
        for parts in itertools.product(*(children[i] for i in chosen)):
            mask = 0
            for part in parts:
                mask |= part
            result.add(mask)
            if len(result) > QUORUM_LIMIT:
                raise _TooMany
    return result


def _weight_minimal_subsets(weights: tuple[int, ...], threshold: int) -> Iterator[tuple[int, ...]]:
    """Index sets whose weights reach `threshold` and drop below it without any one member."""
    n = len(weights)
    suffix = [0] * (n + 1)
    for i in range(n - 1, -1, -1):
        suffix[i] = suffix[i + 1] + weights[i]
    count = 0

    def dfs(i: int, chosen: tuple[int, ...], total: int) -> Iterator[tuple[int, ...]]:
        nonlocal count
        if total >= threshold:
            if all(total - weights[j] < threshold for j in chosen):
                count += 1
                if count > QUORUM_LIMIT:
                    raise _TooMany
                yield chosen
            return
        if i == n or total + suffix[i] < threshold:
            return
        yield from dfs(i + 1, (*chosen, i), total + weights[i])
        yield from dfs(i + 1, chosen, total)

    yield from dfs(0, (), 0)
