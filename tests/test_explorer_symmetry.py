"""Symmetry reduction counts orbits, finds what the full search finds, and shows real traces."""

from __future__ import annotations

import json
from itertools import permutations
from typing import Any

import pytest

from paxiom.explorer import explore, replay
from paxiom.explorer.symmetry import Symmetry, automorphisms
from paxiom.spec.quorums import Explicit, QuorumSystem
from paxiom.variants import build_model


def reachable(m: Any) -> set[Any]:
    seen, frontier = set(m.init()), list(m.init())
    while frontier:
        frontier = [t for s in frontier for _, t in m.next(s) if not (t in seen or seen.add(t))]
    return seen


def renamed_rendering(doc: dict[str, Any], acc: dict[str, str], val: dict[Any, Any]) -> str:
    """A rendered Paxos state with acceptors and values renamed, as canonical JSON (independent of
    symmetry.py: it renames the rendering, not the state)."""
    out = {key: {acc[a]: val.get(x, x) for a, x in doc[key].items()} for key in ("maxBal", "maxVal")}
    out["maxVBal"] = {acc[a]: x for a, x in doc["maxVBal"].items()}
    out["msgs"] = sorted(
        json.dumps({k: acc[x] if k == "acc" else val.get(x, x) if k in ("val", "mval") else x for k, x in m.items()})
        for m in doc["msgs"]
    )
    return json.dumps(out, sort_keys=True)


@pytest.mark.parametrize(("acceptors", "max_ballot", "order"), [(3, 0, 12), (2, 1, 4)])
def test_symmetric_count_is_the_number_of_orbits(acceptors: int, max_ballot: int, order: int) -> None:
    m = build_model("paxos", QuorumSystem.majority(acceptors), values=["v1", "v2"], max_ballot=max_ballot)
    names, values = m.cfg.quorums.nodes, m.cfg.values
    renamings = [
        (dict(zip(names, p, strict=True)), dict(zip(values, vs, strict=True)))
        for p in permutations(names)
        for vs in permutations(values)
    ]
    orbits = {frozenset(renamed_rendering(m.render(s), acc, val) for acc, val in renamings) for s in reachable(m)}
    result = explore(m, symmetry=True)
    assert result.symmetry == order and result.complete
    assert result.distinct_states == len(orbits) < explore(m).distinct_states


def test_renamings_map_reachable_states_and_steps_onto_each_other() -> None:
    """Each renaming is an automorphism of the state graph: it maps successors onto successors."""
    m = build_model("multipaxos", QuorumSystem.majority(3), values=["v1", "v2"], max_ballot=0, slots=2)
    states, symmetry = reachable(m), Symmetry(m)
    for s in list(states)[:100]:
        after = {t for _, t in m.next(s)}
        for g in symmetry.group:
            assert g(s) in states
            assert {t for _, t in m.next(g(s))} == {g(t) for t in after}
            assert {name: check(g(s)) is None for name, check in m.invariants.items()} == {
                name: check(s) is None for name, check in m.invariants.items()
            }


@pytest.mark.parametrize("variant", ["paxos", "multipaxos"])
def test_every_state_of_an_orbit_has_the_same_representative(variant: str) -> None:
    """The representative is one of the orbit's copies, whichever copy it is computed from (with its
    renamed messages remembered between calls)."""
    m = build_model(variant, QuorumSystem.majority(3), values=["v1", "v2"], max_ballot=0, slots=2)
    symmetry = Symmetry(m)
    for s in sorted(reachable(m), key=repr)[:300]:
        copies = [g(s) for g in symmetry.group]
        representatives = {symmetry.representative(c) for c in copies}
        assert len(representatives) == 1 and representatives <= set(copies)


def test_only_quorum_preserving_permutations_rename_acceptors() -> None:
    nodes = ("a1", "a2", "a3")
    lopsided = Explicit(nodes, [["a1", "a2"], ["a1", "a3"]])  # a1 is in every quorum
    assert sorted(automorphisms(QuorumSystem(lopsided, lopsided))) == [(0, 1, 2), (0, 2, 1)]
    assert len(automorphisms(QuorumSystem.majority(3))) == 6


@pytest.mark.parametrize(
    ("variant", "qs", "constants"),
    [
        ("paxos", QuorumSystem.flexible(3, 1, 2), {"max_ballot": 1}),
        ("multipaxos", QuorumSystem.flexible(3, 1, 2), {"max_ballot": 1, "slots": 1}),
        ("fastpaxos", QuorumSystem.fast_paxos(3, 2, 2), {"max_ballot": 1, "fast_ballots": [0]}),
    ],
)
def test_symmetric_search_finds_a_shortest_real_violation(variant: str, qs: QuorumSystem, constants: Any) -> None:
    m = build_model(variant, qs, values=["v1", "v2"], **constants)
    full = explore(m, only=["agreement"])
    reduced = explore(m, only=["agreement"], symmetry=True, workers=2)
    assert full.violation is not None and reduced.violation is not None
    assert len(reduced.violation.trace) == len(full.violation.trace)
    actions = [s.action for s in reduced.violation.trace if s.action is not None]
    trace, violations = replay(m, actions)
    assert trace[-1].state == reduced.violation.trace[-1].state
    assert "agreement" in {v.invariant for v in violations}
    assert reduced.violation.reason == m.invariants["agreement"](trace[-1].state)


def test_symmetry_is_refused_where_names_matter() -> None:
    m = build_model("reconfig", QuorumSystem.majority(2), values=["v1"], max_ballot=0, slots=1)
    with pytest.raises(ValueError, match="reconfig"):
        explore(m, symmetry=True)
