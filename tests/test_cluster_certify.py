"""The Z3 certifier, fault tolerance, load and latency against independent brute force on small systems."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paxiom.cluster import Cluster, load_cluster, parse_cluster
from paxiom.cluster.certify import Condition, decide
from paxiom.cluster.check import check
from paxiom.cluster.latency import fastest_quorum
from paxiom.cluster.load import quorum_load
from paxiom.cluster.tolerance import min_crashes

EXAMPLES = Path(__file__).parent.parent / "examples" / "quorums"
SMALL = sorted(p for p in EXAMPLES.glob("*.toml") if load_cluster(p).n <= 12)


def brute_meets(c: Cluster, families: tuple[str, ...]) -> bool:
    """Whether every choice of minimal quorums from `families` shares a node, by enumeration."""
    fams = c.families()
    choices = [fams[f].minimal_quorums for f in families]
    for picked in itertools.product(*choices):
        common = (1 << c.n) - 1
        for q in picked:
            common &= q
        if common == 0:
            return False
    return True


def brute_min_crashes(c: Cluster, family: str) -> int:
    fam = c.families()[family]
    everyone = (1 << c.n) - 1
    return min(f.bit_count() for f in range(1 << c.n) if not fam.is_quorum(everyone & ~f))


def brute_smallest_violation(c: Cluster, families: tuple[str, ...]) -> int:
    fams = c.families()
    sizes = [
        sum(q.bit_count() for q in picked)
        for picked in itertools.product(*(fams[f].quorums for f in families))
        if _common(picked, c.n) == 0
    ]
    return min(sizes)


def _common(masks: tuple[int, ...], n: int) -> int:
    common = (1 << n) - 1
    for q in masks:
        common &= q
    return common


def test_there_are_enough_small_examples_to_cross_check() -> None:
    assert len(SMALL) >= 10


@pytest.mark.parametrize("path", SMALL, ids=lambda p: p.stem)
def test_every_small_example_verdict_matches_brute_force(path: Path) -> None:
    c = load_cluster(path)
    report = check(c, with_load=False)
    for outcome in report.outcomes:
        families = outcome.condition.families
        assert outcome.holds == brute_meets(c, families), outcome.condition.name
        cex = outcome.counterexample
        if cex is not None:
            for fam, mask in cex.quorums:
                assert c.families()[fam].is_quorum(mask)
            assert _common(tuple(m for _, m in cex.quorums), c.n) == 0
            assert cex.minimum
            assert sum(m.bit_count() for _, m in cex.quorums) == brute_smallest_violation(c, families)
    for fam, tol in report.tolerance.items():
        assert tol.min_crashes == brute_min_crashes(c, fam)
        assert not c.families()[fam].is_quorum(((1 << c.n) - 1) & ~tol.example)
        assert tol.example.bit_count() == tol.min_crashes
    expected_unsafe = "unsafe" in path.stem
    assert report.safe == (not expected_unsafe)


# Random monotone formulas over up to 6 nodes: the symbolic answers must equal enumeration.
NODES = ["a", "b", "c", "d", "e", "f"]


@st.composite
def expressions(draw: st.DrawFn, depth: int = 2) -> str:
    if depth == 0 or draw(st.booleans()):
        return draw(st.sampled_from(NODES))
    args = draw(st.lists(expressions(depth=depth - 1), min_size=1, max_size=4))
    # a node may appear once per argument list
    seen: set[str] = set()
    args = [a for a in args if a not in NODES or not (a in seen or seen.add(a))]  # type: ignore[func-returns-value]
    op = draw(st.sampled_from(["all", "any", "majority", "of"]))
    if op == "of":
        return f"{draw(st.integers(1, len(args)))} of ({', '.join(args)})"
    return f"{op}({', '.join(args)})"


def random_cluster(p1: str, p2: str, weights: list[int]) -> Cluster:
    nodes = ", ".join(f'"{n}"' for n in NODES)
    weighted = "".join(f"{n} = {w}\n" for n, w in zip(NODES, weights, strict=True))
    return parse_cluster(
        f'nodes = [{nodes}]\n[weights]\n{weighted}[quorums]\nphase1 = "{p1}"\nphase2 = "{p2}"\nfast = "{p2}"\n'
    )


@settings(max_examples=60, deadline=None)
@given(expressions(), expressions(), st.lists(st.integers(1, 3), min_size=len(NODES), max_size=len(NODES)))
def test_random_formulas_agree_with_enumeration(p1: str, p2: str, weights: list[int]) -> None:
    c = random_cluster(p1, p2, weights)
    families = {name: fam.expr for name, fam in c.families().items()}
    for fams in [("phase1", "phase2"), ("phase1", "fast", "fast")]:
        outcome = decide(Condition("x", fams, needed=True), families, c.n)
        assert outcome.holds == brute_meets(c, fams)
    for name in ("phase1", "phase2"):
        assert min_crashes(families[name], c.n).min_crashes == brute_min_crashes(c, name)


def test_large_systems_are_decided_symbolically() -> None:
    c = load_cluster(EXAMPLES / "thousand.toml")
    assert c.n == 1000
    report = check(c, with_load=False)
    assert report.safe
    # any k of n: the smallest set leaving no quorum has n - k + 1 nodes
    assert report.tolerance["phase1"].min_crashes == 1000 - 800 + 1
    assert report.tolerance["phase2"].min_crashes == 1000 - 201 + 1


def test_large_violation_is_minimised_and_its_run_declined_for_size() -> None:
    text = (EXAMPLES / "thousand.toml").read_text().replace('"201 of (everyone)"', '"200 of (everyone)"')
    report = check(parse_cluster(text), with_load=False)
    assert not report.safe
    failed = report.failed
    assert failed is not None and failed.counterexample is not None
    assert [m.bit_count() for _, m in failed.counterexample.quorums] == [800, 200]
    assert isinstance(report.run, str) and "1000 nodes" in report.run


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('phase1 = "3 of (a, b, c, d, e)"', 3 / 5),  # K of n: K/n (Naor and Wool)
        ('phase1 = "any(all(a, b), all(c, d))"', 1 / 2),  # two disjoint quorums, alternate
        ('phase1 = "majority(majority(a, b, c), majority(d, e, f), majority(g, h, i))"', 4 / 9),
    ],
)
def test_load_matches_known_values(text: str, expected: float) -> None:
    nodes = ", ".join(f'"{n}"' for n in "abcdefghi")
    c = parse_cluster(f"nodes = [{nodes}]\n[quorums]\n{text}\n")
    result = quorum_load(c.phase1.expr)
    assert result.value == pytest.approx(expected, abs=1e-9)


def test_load_solves_medium_systems_and_declines_honestly_for_size() -> None:
    nodes = [f"n{i}" for i in range(25)]
    listed = ", ".join(f'"{n}"' for n in nodes)
    zones = "\n".join(f"z{z} = [{', '.join(listed.split(', ')[5 * z : 5 * z + 5])}]" for z in range(5))
    gates = ", ".join(f"majority(z{z})" for z in range(5))
    # 5x5 majority of majorities: C(5,3) * C(5,3)^3 = 10,000 minimal quorums, load (3/5)^2
    mom = parse_cluster(f'nodes = [{listed}]\n[zones]\n{zones}\n[quorums]\nphase1 = "majority({gates})"\n')
    assert quorum_load(mom.phase1.expr).value == pytest.approx(9 / 25)
    # a majority of 25 behind a gate: C(25,13) = 5,200,300 minimal quorums, too many for the LP
    big = parse_cluster(
        f"nodes = [{listed}]\n[zones]\neveryone = [{listed}]\n[quorums]\n"
        'phase1 = "any(majority(everyone), all(n0, n1))"\n'
    )
    declined = quorum_load(big.phase1.expr)
    assert declined.value is None and "too many" in declined.note


def test_latency_is_the_fastest_quorum_answer_and_prefers_near_zones() -> None:
    c = load_cluster(EXAMPLES / "three-dc.toml")
    assert c.round_trips is not None
    a1 = c.nodes.index("a1")
    row = c.round_trips.row(a1)
    phase = fastest_quorum(c.phase2.expr, a1, row)
    assert phase.ms == 12  # a majority of dc1 (local) and of dc2 (12 ms) rather than dc3 (70 ms)
    assert set(c.names(phase.quorum)) <= {"a1", "a2", "a3", "b1", "b2", "b3"}
    # brute force: over all quorums, the one whose slowest member answers first
    best = min(max(row[j] for j in range(c.n) if q >> j & 1) for q in c.phase2.quorums)
    assert phase.ms == best
    report = check(c, with_load=False)
    assert report.latency is not None and report.latency[0]["phase2"] == {
        "ms": 12.0,
        "quorum": c.names(phase.quorum),
        "prefer": ["majority(dc1)", "majority(dc2)"],
    }
    assert [r["leader"] for r in report.latency[-3:]] == ["c1", "c2", "c3"]  # the far DC commits slowest


def test_latency_of_large_clusters_is_resolved_per_zone() -> None:
    text = (
        (EXAMPLES / "thousand.toml").read_text()
        + "\n[latency_ms]\n"
        + "".join(
            f"rack{r} = {{ {', '.join(f'rack{s} = {abs(r - s) * 2 + 0.2}' for s in range(r, 10))} }}\n"
            for r in range(10)
        )
    )
    c = parse_cluster(text)
    report = check(c, with_load=False)
    assert report.latency is not None and len(report.latency) == 10  # one leader per rack
    # a leader in a middle rack reaches 201 acceptors within its own rack and its neighbours (2.2 ms)
    assert report.latency[0]["leader"] in {f"n{r}00" for r in range(1, 9)}
    phase2 = report.latency[0]["phase2"]
    assert isinstance(phase2, dict) and phase2["ms"] == 2.2 and len(phase2["quorum"]) == 201


def test_smallest_counterexample_uses_the_earliest_nodes() -> None:
    report = check(load_cluster(EXAMPLES / "flexible-unsafe.toml"), with_load=False)
    failed = report.failed
    assert failed is not None and failed.counterexample is not None
    c = report.cluster
    assert [c.names(m) for _, m in failed.counterexample.quorums] == [
        ["r1", "r2", "r3", "r4", "r5", "r6"],
        ["r7", "r8", "r9", "r10"],
    ]


def brute_force_load(c: Cluster, family: str) -> float:
    """The load LP written out directly over the enumerated minimal quorums (independent of paxiom)."""
    from scipy.optimize import linprog

    quorums = c.families()[family].minimal_quorums
    m = len(quorums)
    rows = [[1.0 if q >> i & 1 else 0.0 for q in quorums] + [-1.0] for i in range(c.n)]
    result = linprog(
        [0.0] * m + [1.0],
        A_ub=rows,
        b_ub=[0.0] * c.n,
        A_eq=[[1.0] * m + [0.0]],
        b_eq=[1.0],
        bounds=[(0, None)] * (m + 1),
        method="highs",
    )
    return float(result.fun)


@pytest.mark.parametrize("path", SMALL, ids=lambda p: p.stem)
def test_load_of_every_small_example_matches_the_plain_lp(path: Path) -> None:
    c = load_cluster(path)
    for name, fam in c.families().items():
        result = quorum_load(fam.expr)
        assert result.value == pytest.approx(brute_force_load(c, name), abs=1e-6), (name, result.method)


def test_load_of_large_symmetric_systems_in_closed_form() -> None:
    c = load_cluster(EXAMPLES / "zones-9x9.toml")
    result = quorum_load(c.phase1.expr)
    assert result.value == pytest.approx((5 / 9) ** 2)  # a majority of zones, a majority in each
    assert "closed form" in result.method and "25/81" in result.method
