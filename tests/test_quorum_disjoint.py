"""The exact intersection procedure (cluster/disjoint.py) against the Z3 path on random read-once trees.

Both decide the same registered condition: the verdicts must agree, and on a violation the exact
procedure's quorums must be disjoint quorums with as few nodes in total as Z3's proven minimum (and, up to
EARLIEST_NODES, the very same quorums).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paxiom.cluster import parse_cluster
from paxiom.cluster.certify import EXACT, Z3, Condition, Outcome, decide, decide_z3
from paxiom.cluster.check import check
from paxiom.cluster.disjoint import NotApplicable, smallest_disjoint

PAIR = Condition("phase1 x phase2", ("phase1", "phase2"), needed=True)


@dataclass
class Tree:
    """A gate over subtrees and node indices; rendered once per family with its own thresholds."""

    args: list[Tree | int]


@st.composite
def trees(draw: st.DrawFn, nodes: list[int], depth: int) -> Tree:
    if depth == 0 or len(nodes) <= 2:
        return Tree(list(nodes))
    parts = draw(st.integers(1, min(len(nodes), 4)))
    cuts = sorted(draw(st.sets(st.integers(1, len(nodes) - 1), min_size=parts - 1, max_size=parts - 1)))
    args: list[Tree | int] = []
    for lo, hi in itertools.pairwise([0, *cuts, len(nodes)]):
        group = nodes[lo:hi]
        args.append(group[0] if len(group) == 1 and draw(st.booleans()) else draw(trees(group, depth - 1)))
    return Tree(args)


@st.composite
def rendered(draw: st.DrawFn, tree: Tree, weights: list[int]) -> str:
    """The tree as an expression, every gate `K of` with a K drawn up to its arguments' weight."""
    texts = [f"n{a}" if isinstance(a, int) else draw(rendered(a, weights)) for a in tree.args]
    total = sum(weights[a] if isinstance(a, int) else 1 for a in tree.args)
    return f"{draw(st.integers(1, total))} of ({', '.join(texts)})"


@st.composite
def aligned_files(draw: st.DrawFn, max_nodes: int = 8, depth: int = 3) -> str:
    """A cluster file whose phase1 and phase2 are one read-once tree with independent thresholds."""
    n = draw(st.integers(1, max_nodes))
    weights = draw(st.lists(st.sampled_from([1, 1, 1, 2, 3]), min_size=n, max_size=n))
    order = draw(st.permutations(range(n)))
    tree = draw(trees(list(order), depth))
    p1, p2 = draw(rendered(tree, weights)), draw(rendered(tree, weights))
    names = ", ".join(f'"n{i}"' for i in range(n))
    table = "".join(f"n{i} = {w}\n" for i, w in enumerate(weights))
    return f'nodes = [{names}]\n[weights]\n{table}[quorums]\nphase1 = "{p1}"\nphase2 = "{p2}"\n'


def both_ways(text: str) -> tuple[Outcome, Outcome]:
    c = parse_cluster(text)
    families = {name: fam.expr for name, fam in c.families().items()}
    return decide(PAIR, families, c.n), decide_z3(PAIR, families, c.n)


@settings(max_examples=100, deadline=None)
@given(aligned_files())
def test_exact_procedure_gives_z3s_verdict_and_its_smallest_quorums(text: str) -> None:
    exact, z3 = both_ways(text)
    assert exact.method == EXACT and z3.method == Z3
    assert exact.holds == z3.holds
    if z3.counterexample is not None:
        assert exact.counterexample is not None
        assert z3.counterexample.minimum and exact.counterexample.minimum
        assert exact.counterexample == z3.counterexample  # same size, same earliest-nodes tie-break


@settings(max_examples=12, deadline=None)
@given(aligned_files(max_nodes=60, depth=3))
def test_beyond_the_tie_break_the_exact_quorums_are_disjoint_quorums_of_z3s_minimum_size(text: str) -> None:
    exact, z3 = both_ways(text)
    assert exact.holds == z3.holds
    if z3.counterexample is None or exact.counterexample is None:
        return
    c = parse_cluster(text)
    (_, a), (_, b) = exact.counterexample.quorums
    assert c.phase1.expr.holds(a) and c.phase2.expr.holds(b) and not a & b
    total = a.bit_count() + b.bit_count()
    z3_total = sum(m.bit_count() for _, m in z3.counterexample.quorums)
    assert total <= z3_total if not z3.counterexample.minimum else total == z3_total


def test_other_shapes_and_three_families_are_left_to_z3() -> None:
    names = ", ".join(f'"n{i}"' for i in range(5))
    head = f"nodes = [{names}]\n[quorums]\n"
    grid = parse_cluster(head + 'phase1 = "all(any(n0, n1), n2)"\nphase2 = "any(n0, all(n1, n2))"\n')
    with pytest.raises(NotApplicable):  # the same nodes, another tree: not aligned
        smallest_disjoint(grid.phase1.expr, grid.phase2.expr)
    shared = parse_cluster(head + 'phase1 = "all(any(n0, n1), any(n0, n2))"\n')
    with pytest.raises(NotApplicable):  # n0 twice: not read-once
        smallest_disjoint(shared.phase1.expr, shared.phase2.expr)
    fast = parse_cluster(head + 'phase1 = "3 of (n0, n1, n2, n3, n4)"\nfast = "4 of (n0, n1, n2, n3, n4)"\n')
    methods = {o.condition.name: o.method for o in check(fast, with_load=False).outcomes}
    assert methods["phase1 x fast x fast"] == Z3 and methods["phase1 x phase2"] == EXACT


def test_large_zones_are_decided_exactly_and_a_violation_keeps_its_replayed_run() -> None:
    zones = [[f"z{z}n{i}" for i in range(25)] for z in range(40)]
    def quoted(xs: list[str]) -> str:
        return ", ".join(f'"{x}"' for x in xs)

    nodes = quoted([x for g in zones for x in g])
    table = "".join(f"z{z} = [{quoted(g)}]\n" for z, g in enumerate(zones))
    safe = "majority(" + ", ".join(f"majority(z{z})" for z in range(40)) + ")"
    unsafe = "20 of (" + ", ".join(f"majority(z{z})" for z in range(40)) + ")"  # 20 of 40 zones: two halves
    head = f"nodes = [{nodes}]\n[zones]\n{table}[quorums]\n"
    report = check(parse_cluster(head + f'phase1 = "{safe}"\n'), with_load=False)
    assert report.safe and report.outcomes[0].method == EXACT
    report = check(parse_cluster(head + f'phase1 = "{unsafe}"\n'), with_load=False)
    failed = report.failed
    assert failed is not None and failed.method == EXACT and failed.counterexample is not None
    assert failed.counterexample.minimum
    assert sum(m.bit_count() for _, m in failed.counterexample.quorums) == 40 * 13  # 20 zones' majorities each
    assert isinstance(report.run, str) and "limit" in report.run  # 520 nodes: too many to replay, as before


def test_latency_rows_resolved_per_profile_equal_pair_by_pair_resolution() -> None:
    # two zones; n1 has its own entries (node-zone and node-node) that must beat its zone's
    nodes = [f"n{i}" for i in range(8)]
    quoted = ", ".join(f'"{x}"' for x in nodes)
    text = (
        f'nodes = [{quoted}]\n[zones]\na = ["n0", "n1", "n2", "n3"]\nb = ["n4", "n5", "n6", "n7"]\n'
        '[quorums]\nphase1 = "majority(a, b)"\n[latency_ms]\n'
        "a = { a = 1, b = 30 }\nb = { b = 2 }\nn1 = { b = 5, n6 = 0.5 }\n"
    )
    trips = parse_cluster(text).round_trips
    assert trips is not None
    for i in range(len(nodes)):
        assert trips.row(i) == [0.0 if j == i else trips._resolve(i, j) for j in range(len(nodes))]
    assert trips.row(1)[6] == 0.5 and trips.row(6)[1] == 0.5 and trips.row(1)[4] == 5 and trips.row(0)[4] == 30
