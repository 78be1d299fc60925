"""Quorum load (Naor and Wool, 1998): the busiest node's share under the best strategy for picking quorums.

load = min over probability distributions σ on quorums of max over nodes i of Σ_{Q ∋ i} σ(Q).
For a threshold over unit-weight nodes (any K of n) it is K/n exactly: the uniform strategy reaches it and
every quorum has K members, so the shares sum to at least K. Otherwise we solve the linear program with
HiGHS (scipy.optimize.linprog, method="highs") over the minimal quorums, generated from the expression.
Supersets never help a strategy, so minimal quorums suffice. Beyond QUORUM_LIMIT of them we decline and
say so rather than run for minutes as enumerating tools do.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from paxiom.cluster.expr import Expr, Gate, Leaf, support

QUORUM_LIMIT = 20_000
NODE_LIMIT = 64
"""Largest number of nodes a family may mention for the LP (the quorum cap declines most before this)."""
SOLVER = "HiGHS (scipy.optimize.linprog, method='highs')"


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
    nodes_mentioned = support(expr).bit_count()
    if nodes_mentioned > NODE_LIMIT:
        return Load(None, "declined", f"{nodes_mentioned} nodes: too many for the linear program (limit {NODE_LIMIT})")
    try:
        quorums = sorted(_minimal_quorums(expr))
    except _TooMany:
        return Load(None, "declined", f"more than {QUORUM_LIMIT:,} minimal quorums: too many for the linear program")
    try:
        from scipy.optimize import linprog
        from scipy.sparse import lil_matrix
    except ImportError:
        return Load(None, "declined", "scipy is not installed (pip install 'paxiom[dev]')")
    nodes = sorted({i for q in quorums for i in range(q.bit_length()) if q >> i & 1})
    m = len(quorums)
    # variables: σ_0..σ_{m-1}, L ; minimise L subject to each node's share <= L and Σσ = 1
    upper = lil_matrix((len(nodes), m + 1))
    for row, i in enumerate(nodes):
        for col, q in enumerate(quorums):
            if q >> i & 1:
                upper[row, col] = 1.0
        upper[row, m] = -1.0
    cost = [0.0] * m + [1.0]
    result = linprog(
        cost,
        A_ub=upper.tocsr(),
        b_ub=[0.0] * len(nodes),
        A_eq=[[1.0] * m + [0.0]],
        b_eq=[1.0],
        bounds=[(0, None)] * (m + 1),
        method="highs",
    )
    if result.status != 0:
        return Load(None, "declined", f"the LP solver stopped: {result.message}")
    return Load(float(result.fun), f"linear program over {m:,} minimal quorums, solved by {SOLVER}")


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
