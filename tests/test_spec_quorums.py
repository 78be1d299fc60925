"""Quorum families and the intersection conditions, cross-checked against brute force over all subsets."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paxiom.spec.quorums import (
    Explicit,
    Majority,
    QuorumSystem,
    Threshold,
    acceptor_names,
    mask_of,
    members,
    phase1_meets_phase2,
    phase1_meets_two_fast,
    quorum_intersection,
)


def brute_force_meet(fam1: Threshold | Explicit, fam2: Threshold | Explicit) -> bool:
    """Every quorum of fam1 meets every quorum of fam2, checked over all pairs of subsets."""
    subsets = range(1 << fam1.n)
    return all(a & b for a in subsets if fam1.is_quorum(a) for b in subsets if fam2.is_quorum(b))


def test_majority_quorums_of_five() -> None:
    fam = Majority(acceptor_names(5))
    assert fam.k == 3
    assert len(fam.minimal_quorums) == 10  # C(5, 3)
    assert all(q.bit_count() == 3 for q in fam.minimal_quorums)
    assert len(fam.quorums) == 10 + 5 + 1


def test_explicit_family_is_upward_closed() -> None:
    fam = Explicit(["a", "b", "c", "d"], [["a", "b"], ["c", "d"]])
    assert fam.is_quorum(mask_of([0, 1]))
    assert fam.is_quorum(mask_of([0, 1, 2]))
    assert not fam.is_quorum(mask_of([0, 2]))
    assert [fam.names(q) for q in fam.minimal_quorums] == [["a", "b"], ["c", "d"]]
    assert fam.is_monotone()


@pytest.mark.parametrize(
    ("quorums", "message"),
    [([["a", "zz"]], "unknown nodes"), ([[]], "empty quorum"), ([], "at least one quorum")],
)
def test_explicit_family_rejects_bad_input(quorums: list[list[str]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Explicit(["a", "b"], quorums)


def test_threshold_rejects_impossible_sizes() -> None:
    with pytest.raises(ValueError, match="outside"):
        Threshold(acceptor_names(3), 4)
    with pytest.raises(ValueError, match="outside"):
        Threshold(acceptor_names(3), 0)


@given(st.integers(1, 7), st.data())
def test_flexible_size_rule_matches_brute_force(n: int, data: st.DataObject) -> None:
    """|Q1| + |Q2| > n is exactly when every phase-1 quorum meets every phase-2 quorum (Howard et al.)."""
    q1 = data.draw(st.integers(1, n))
    q2 = data.draw(st.integers(1, n))
    qs = QuorumSystem.flexible(n, q1, q2)
    holds = phase1_meets_phase2(qs) is None
    assert holds == (q1 + q2 > n) == brute_force_meet(qs.phase1, qs.phase2)  # type: ignore[arg-type]


@given(st.integers(1, 6), st.data())
def test_fast_condition_matches_brute_force(n: int, data: st.DataObject) -> None:
    c = data.draw(st.integers(n // 2 + 1, n))
    f = data.draw(st.integers(1, n))
    qs = QuorumSystem.fast_paxos(n, c, f)
    assert qs.fast is not None
    subsets = range(1 << n)
    brute = all(
        q & f1 & f2
        for q in subsets
        if qs.phase1.is_quorum(q)
        for f1, f2 in itertools.product([s for s in subsets if qs.fast.is_quorum(s)], repeat=2)
    )
    assert (phase1_meets_two_fast(qs) is None) == brute


def test_violation_names_the_disjoint_quorums() -> None:
    qs = QuorumSystem.flexible(4, 2, 2)
    violation = quorum_intersection(qs)
    assert violation is not None
    (fam1, m1), (fam2, m2) = violation.quorums
    assert (fam1, fam2) == ("phase-1", "phase-2")
    assert m1 & m2 == 0 and m1.bit_count() == 2 and m2.bit_count() == 2
    assert "share no acceptor" in violation.describe(qs.nodes)


def test_classic_fast_paxos_sizes() -> None:
    """With majority classic quorums, fast quorums need at least ceil(3n/4) acceptors (Lamport 2006)."""
    assert quorum_intersection(QuorumSystem.fast_paxos(4, 3, 3)) is None
    assert quorum_intersection(QuorumSystem.fast_paxos(5, 3, 4)) is None
    assert quorum_intersection(QuorumSystem.fast_paxos(5, 3, 3)) is not None


def test_masks_round_trip() -> None:
    assert members(mask_of([0, 3, 5])) == {0, 3, 5}


def test_enumeration_refuses_large_clusters() -> None:
    with pytest.raises(ValueError, match="too many to enumerate"):
        Majority(acceptor_names(30)).minimal_quorums  # noqa: B018
