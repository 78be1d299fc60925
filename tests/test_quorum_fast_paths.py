"""The quorum certifier's fast paths against definitions computed the slow way, on random small systems.

Load: the closed form of alike-weighted trees, the compact usage LP, column generation and the LP over the
minimal quorums paxiom generates all give the load of the plain LP over brute-force-enumerated minimal
quorums. Latency: the incremental fastest quorum is the one whole evaluations find, and none is faster.
"""

from __future__ import annotations

import itertools
import math
from itertools import accumulate, pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from paxiom.cluster import parse_cluster
from paxiom.cluster.expr import Expr
from paxiom.cluster.latency import Tally, fastest_quorum
from paxiom.cluster.load import (
    closed_form_load,
    column_generation_load,
    compact_load,
    enumerated_load,
    quorum_load,
)

EXACT = 1e-7
MIXED = st.sampled_from([1, 1, 1, 2, 3])
"""Node weights of the random systems: mostly 1."""


def brute_force_load(expr: Expr, n: int) -> float:
    """min L over strategies on the minimal quorums found by trying all 2^n sets (nothing from load.py)."""
    quorums = [m for m in range(1 << n) if expr.holds(m)]
    minimal = [q for q in quorums if not any(expr.holds(q & ~(1 << i)) for i in range(n) if q >> i & 1)]
    rows = [[1.0 if q >> i & 1 else 0.0 for q in minimal] + [-1.0] for i in range(n)]
    result = linprog(
        [0.0] * len(minimal) + [1.0],
        A_ub=rows,
        b_ub=[0.0] * n,
        A_eq=[[1.0] * len(minimal) + [0.0]],
        b_eq=[1.0],
        bounds=(0, None),
        method="highs",
    )
    return float(result.fun)


def cluster_expr(nodes: int, weights: list[int], text: str) -> Expr:
    names = ", ".join(f'"n{i}"' for i in range(nodes))
    table = "".join(f"n{i} = {w}\n" for i, w in enumerate(weights) if w != 1)
    return parse_cluster(f'nodes = [{names}]\n[weights]\n{table}[quorums]\nphase1 = "{text}"\n').phase1.expr


@st.composite
def gate(draw: st.DrawFn, args: list[tuple[str, int]]) -> tuple[str, int]:
    """A random threshold gate over `args` (text, weight), spelled by any of the language's forms."""
    total = sum(w for _, w in args)
    listed = ", ".join(t for t, _ in args)
    form = draw(st.sampled_from(["of", "of", "all", "any", "majority"]))
    if form == "of":
        return f"{draw(st.integers(1, total))} of ({listed})", 1
    return f"{form}({listed})", 1


@st.composite
def read_once(draw: st.DrawFn, first: int, count: int, weights: list[int], depth: int) -> tuple[str, int]:
    """A read-once expression over nodes first .. first+count-1 (no node twice)."""
    if count == 1 and (depth == 0 or draw(st.booleans())):
        return f"n{first}", weights[first]
    parts = count if depth == 0 else draw(st.integers(1, min(count, 4)))
    cuts = sorted(draw(st.sets(st.integers(1, count - 1), min_size=parts - 1, max_size=parts - 1))) if count > 1 else []
    bounds = [0, *cuts, count]
    args = []
    for lo, hi in pairwise(bounds):
        if hi - lo == 1 and (depth == 0 or draw(st.booleans())):
            args.append((f"n{first + lo}", weights[first + lo]))
        else:
            args.append(draw(read_once(first + lo, hi - lo, weights, max(0, depth - 1))))
    return draw(gate(args))


@st.composite
def systems(draw: st.DrawFn, weighing: st.SearchStrategy[int] = MIXED) -> tuple[Expr, int]:
    n = draw(st.integers(1, 8))
    weights = draw(st.lists(weighing, min_size=n, max_size=n))
    text, _ = draw(read_once(0, n, weights, 3))
    return cluster_expr(n, weights, text), n


@st.composite
def symmetric_systems(draw: st.DrawFn) -> tuple[Expr, int]:
    """K-of-m gates nested level by level over alike arguments (at most 12 nodes), leaves weighing w."""
    widths = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3).filter(lambda ws: math.prod(ws) <= 12))
    leaf_weight = draw(st.sampled_from([1, 2, 3]))
    thresholds = [
        draw(st.integers(1, m * (leaf_weight if level == len(widths) - 1 else 1))) for level, m in enumerate(widths)
    ]
    counter = itertools.count()

    def build(level: int) -> str:
        m = widths[level]
        args = [f"n{next(counter)}" if level == len(widths) - 1 else build(level + 1) for _ in range(m)]
        return f"{thresholds[level]} of ({', '.join(args)})"

    text = build(0)
    n = next(counter)
    return cluster_expr(n, [leaf_weight] * n, text), n


@st.composite
def shared_systems(draw: st.DrawFn) -> tuple[Expr, int]:
    """Gates over overlapping sets of nodes (not read-once): only the enumerated LP may answer."""
    n = draw(st.integers(2, 6))
    subsets = draw(st.lists(st.sets(st.integers(0, n - 1), min_size=1), min_size=2, max_size=3))
    args = [draw(gate([(f"n{i}", 1) for i in sorted(s)])) for s in subsets]  # gates: a node may recur
    text, _ = draw(gate(args))
    return cluster_expr(n, [1] * n, text), n


@settings(max_examples=60, deadline=None)
@given(systems())
def test_every_read_once_method_gives_the_exact_load(system: tuple[Expr, int]) -> None:
    expr, n = system
    exact = brute_force_load(expr, n)
    compact = compact_load(expr, linprog)
    assert compact is not None and compact.value == pytest.approx(exact, abs=EXACT)
    generated = column_generation_load(expr, linprog)
    assert generated.value == pytest.approx(exact, abs=EXACT)
    listed = enumerated_load(expr, linprog)
    assert listed.value == pytest.approx(exact, abs=EXACT)
    closed = closed_form_load(expr)
    if closed is not None:
        assert float(closed) == pytest.approx(exact, abs=EXACT)
    assert quorum_load(expr).value == pytest.approx(exact, abs=EXACT)


@settings(max_examples=60, deadline=None)
@given(st.one_of(symmetric_systems(), systems(st.just(1))))
def test_trees_of_alike_weighted_gates_have_the_closed_form_load(system: tuple[Expr, int]) -> None:
    expr, n = system
    closed = closed_form_load(expr)
    assert closed is not None
    assert float(closed) == pytest.approx(brute_force_load(expr, n), abs=EXACT)
    result = quorum_load(expr)
    assert result.value == float(closed) and "closed form" in result.method


@settings(max_examples=40, deadline=None)
@given(shared_systems())
def test_formulas_sharing_nodes_use_the_enumerated_lp(system: tuple[Expr, int]) -> None:
    expr, n = system
    result = quorum_load(expr)
    assert result.value == pytest.approx(brute_force_load(expr, n), abs=EXACT)
    if "minimal quorums" not in result.method:  # sharing can leave a read-once formula: n1 alone, say
        assert compact_load(expr, linprog) is not None


def test_a_weighted_gate_past_the_table_budget_falls_back_to_column_generation() -> None:
    # weights 1 and 70,001 (unequal, coprime): 3 x 70,003 table states, past FLOW_CELLS
    expr = cluster_expr(3, [1, 70_001, 70_001], "majority(n0, n1, n2)")
    assert compact_load(expr, linprog) is None
    result = quorum_load(expr)
    assert "column generation" in result.method
    assert result.value == pytest.approx(brute_force_load(expr, 3), abs=EXACT)


def test_uneven_zones_in_closed_form_and_unequal_weights_by_the_compact_lp() -> None:
    sizes = [3, 5, 7]
    names = [f"n{i}" for i in range(sum(sizes))]
    starts = list(accumulate(sizes, initial=0))
    zones = ", ".join(f"majority({', '.join(names[a:b])})" for a, b in pairwise(starts))
    uneven = cluster_expr(len(names), [1] * len(names), f"majority({zones})")
    assert "closed form" in quorum_load(uneven).method
    compact = compact_load(uneven, linprog)
    assert compact is not None and quorum_load(uneven).value == pytest.approx(compact.value, abs=EXACT)
    weighted = cluster_expr(4, [1, 1, 2, 3], "majority(n0, n1, n2, n3)")
    assert closed_form_load(weighted) is None
    result = quorum_load(weighted)
    assert "compact linear program" in result.method
    assert result.value == pytest.approx(brute_force_load(weighted, 4), abs=EXACT)


def reference_fastest(expr: Expr, leader: int, row: list[float]) -> tuple[float, int]:
    """The fastest quorum by whole evaluations: the shortest answering prefix, then its slowest members
    dropped while a quorum remains."""
    order = sorted(range(len(row)), key=lambda j: (row[j], j != leader, j))
    heard = next(k for k in range(1, len(row) + 1) if expr.holds(sum(1 << j for j in order[:k])))
    quorum = sum(1 << j for j in order[:heard])
    for j in reversed(order[:heard]):
        if expr.holds(quorum & ~(1 << j)):
            quorum &= ~(1 << j)
    return max(row[j] for j in range(len(row)) if quorum >> j & 1), quorum


@settings(max_examples=80, deadline=None)
@given(st.one_of(systems(), shared_systems()), st.data())
def test_the_fastest_quorum_is_the_earliest_answering_one(system: tuple[Expr, int], data: st.DataObject) -> None:
    expr, n = system
    row = data.draw(st.lists(st.sampled_from([0.5, 1.0, 2.0, 5.0, 9.0]), min_size=n, max_size=n))
    leader = data.draw(st.integers(0, n - 1))
    row[leader] = 0.0
    phase = fastest_quorum(expr, leader, row)
    assert (phase.ms, phase.quorum) == reference_fastest(expr, leader, row)
    tally = Tally(expr)  # one tally serves every leader in turn
    for other in (n - 1, leader):
        again = fastest_quorum(expr, other, row, tally)
        assert (again.ms, again.quorum) == reference_fastest(expr, other, row)
    # no quorum at all answers sooner
    assert phase.ms == min(max(row[j] for j in range(n) if q >> j & 1) for q in range(1, 1 << n) if expr.holds(q))
