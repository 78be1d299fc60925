"""The unbounded proofs: every variant proved; every conjunct and every quorum axiom needed (dropping or
weakening it yields a counterexample, never "unknown"); CTIs that really are counterexamples; BMC runs
that the executable spec replays to two chosen values."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
import z3

from paxiom.explorer import replay
from paxiom.proofs import variants
from paxiom.proofs.bmc import bmc
from paxiom.proofs.check import weakened
from paxiom.proofs.cti import Counterexample, Reader
from paxiom.proofs.fol import State
from paxiom.proofs.prover import ProofResult, prove
from paxiom.proofs.spec_trace import trace_document
from paxiom.spec.model import act
from paxiom.trace import load

TIMEOUT_S = 60.0
CHEAP_BY_DEFAULT = ("config_unique",)
"""Cheap Paxos's 113 obligations take seconds per run: this conjunct runs by default, the rest with -m slow."""


def _case(variant: str, name: str) -> Any:
    slow = variant == "cheap" and name not in CHEAP_BY_DEFAULT
    return pytest.param(variant, name, marks=[pytest.mark.slow] if slow else [])


CONJUNCTS = [_case(v, c.name) for v in variants.NAMES for c in variants.model(v).conjuncts]
AXIOMS = [
    (v, a.name) for v in variants.NAMES if v != "cheap" for a in variants.model(v).axioms if a.weakened is not None
]


def assert_counterexample(result: ProofResult) -> Counterexample:
    statuses = {ob.status for ob in result.obligations}
    assert "unknown" not in statuses, [ob.name for ob in result.obligations if ob.status == "unknown"]
    assert not result.proved
    assert result.cti is not None
    first = next(ob for ob in result.obligations if ob.status == "failed")
    assert result.cti.obligation == first.name
    assert result.cti.verified  # the printed model really is a counterexample
    assert result.cti.fails_at  # and names where the broken conjunct fails
    json.dumps(result.cti.to_json())  # JSON-ready
    return result.cti


@pytest.mark.parametrize("variant", variants.NAMES)
def test_every_variant_is_proved(variant: str) -> None:
    ts = variants.model(variant)
    result = prove(ts, timeout_s=TIMEOUT_S)
    assert [ob.name for ob in result.obligations if ob.status != "proved"] == []
    # initiation and consecution per conjunct and action, plus invariant => agreement
    assert len(result.obligations) == len(ts.conjuncts) * (1 + len(ts.actions)) + 1
    assert result.obligations[-1].name == "safety/agreement"
    assert result.cti is None


@pytest.mark.parametrize(("variant", "conjunct"), CONJUNCTS)
def test_dropping_any_conjunct_gives_a_counterexample(variant: str, conjunct: str) -> None:
    cti = assert_counterexample(prove(variants.model(variant), drop=[conjunct], timeout_s=TIMEOUT_S))
    assert conjunct not in cti.obligation  # the dropped conjunct is no longer checked
    if cti.kind == "consecution":
        assert cti.action is not None and cti.action.startswith(cti.obligation.split("/")[1] + "(")
        assert any(cti.added.values()) or any(cti.removed.values())
    else:
        assert cti.kind == "safety" and cti.broken == "agreement"


@pytest.mark.parametrize(("variant", "axiom"), AXIOMS)
def test_weakening_any_quorum_axiom_gives_a_counterexample(variant: str, axiom: str) -> None:
    ts = variants.model(variant)
    cti = assert_counterexample(prove(ts, weaken=[axiom.replace("_", "-")], timeout_s=TIMEOUT_S))
    # The CTI's quorums must break the real axiom: some choice of one quorum per sort shares no node.
    families = {
        "quorum_intersection": ("member", "member"),
        "phase1_meets_phase2": ("member1", "member2"),
        "phase1_meets_two_fast": (_phase1(cti), "memberf", "memberf"),
    }[axiom]
    quorums = cti.structure.quorums
    choices = itertools.product(*(quorums[f].values() for f in families))
    assert any(not set.intersection(*map(set, pick)) for pick in choices), quorums


def test_weakened_cheap_axiom_gives_two_disjoint_quorums_of_one_configuration() -> None:
    """Cheap Paxos assumes quorums meet only within a configuration; weakened, two disjoint ones appear."""
    cti = assert_counterexample(prove(variants.model("cheap"), weaken=["config_quorum_intersection"]))
    members = cti.structure.quorums["member"]
    owned = cti.structure.rigid["qconf"]
    assert any(
        c1 == c2 and not set(members[q1]) & set(members[q2]) for (q1, c1), (q2, c2) in itertools.product(owned, owned)
    ), (members, owned)


def _phase1(cti: Counterexample) -> str:
    return "member1" if "member1" in cti.structure.quorums else "member"


def test_models_are_read_with_quantifiers_decided() -> None:
    """Z3's evaluator leaves quantified formulas unevaluated; the reader decides them on the finite model."""
    ts = weakened(variants.model("paxos"), ["quorum_intersection"])
    solver = z3.Solver()
    solver.add(*(a.formula for a in ts.axioms))
    real_axiom = variants.model("paxos").axiom("quorum_intersection").formula
    solver.add(z3.Not(real_axiom))
    assert solver.check() == z3.sat
    reader = Reader(ts, solver.model())
    assert reader.true(ts.axiom("quorum_intersection").formula)  # every quorum has a member
    assert not reader.true(real_axiom)  # but two of them are disjoint
    assert reader.true(z3.Not(real_axiom))


def test_paxos_cti_for_weakened_quorums_is_the_textbook_one() -> None:
    """Two disjoint quorums: one can still choose a value at r1 while the other proposes another at r2."""
    cti = prove(variants.model("paxos"), weaken=["quorum_intersection"], timeout_s=TIMEOUT_S).cti
    assert cti is not None
    assert cti.obligation == "consecution/Phase2a/votes_safe"
    assert cti.structure.elements["round"] == ["none", "r1", "r2"]
    assert len(cti.structure.elements["node"]) == 2 and len(cti.structure.elements["value"]) == 2
    assert sorted(map(len, cti.structure.quorums["member"].values())) == [1, 1]
    assert cti.fails_at["R1"] == "r1" and cti.fails_at["R2"] == "r2"
    assert cti.added["proposal"] == [("r2", cti.fails_at["V2"])]
    text = "\n".join(cti.lines())
    assert "Phase2a(b=r2" in text and "broken      votes_safe" in text


def test_cti_is_shrunk_to_what_matters() -> None:
    """Dropping promise_monotonicity: one node that joined r2 without leaving r1 is the whole story."""
    cti = prove(variants.model("paxos"), drop=["promise_monotonicity"], timeout_s=TIMEOUT_S).cti
    assert cti is not None
    assert cti.structure.elements["node"] == ["n1"]
    assert cti.pre["one_b"] == [("n1", "r2")]
    assert cti.pre["left_round"] == [] and cti.pre["vote"] == [] and cti.pre["proposal"] == []


@pytest.mark.parametrize(
    ("variant", "axiom"), [("paxos", "quorum_intersection"), ("flexible", "phase1_meets_phase2")]
)
def test_bmc_finds_a_real_two_decision_run_that_the_spec_replays(variant: str, axiom: str, tmp_path: Path) -> None:
    result = bmc(weakened(variants.model(variant), [axiom]), 8)
    assert result.status == "violated" and result.run is not None
    assert len(result.run.steps) == 8  # the shortest: four steps per round, two rounds
    path = tmp_path / "run.json"
    path.write_text(json.dumps(trace_document(result.run)))
    model, actions = load(path)
    _, violations = replay(model, actions)
    assert "agreement" in {v.invariant for v in violations}


def test_bmc_finds_nothing_with_the_real_axioms() -> None:
    result = bmc(variants.model("paxos"), 6)
    assert result.status == "safe-to-depth" and result.run is None


@pytest.mark.parametrize("variant", variants.NAMES)
def test_no_proof_is_vacuous(variant: str) -> None:
    """The axioms have a model, and every action can fire in some state satisfying the invariant: a proof
    from contradictory assumptions, or about actions that never happen, would prove nothing."""
    ts = variants.model(variant)
    solver = z3.Solver()
    solver.set("timeout", 60_000)
    solver.add(*(a.formula for a in ts.axioms))
    assert solver.check() == z3.sat
    pre = ts.state()
    solver.add(*(c.formula(pre) for c in ts.conjuncts))
    for action in ts.actions:
        guard, _ = action.apply(pre, ts.fresh_params(action))
        assert solver.check(guard) == z3.sat, action.name


def test_cheap_paxos_really_retires_a_main_acceptor() -> None:
    """The reconfiguration is reachable: a run executes a command that drops a main acceptor."""
    ts = variants.model("cheap")
    j, v, n = z3.Const("J", ts.sorts["slot"]), z3.Const("V", ts.sorts["value"]), z3.Const("N", ts.sorts["node"])

    def retiring_applied(s: State) -> z3.BoolRef:
        return z3.Exists([j, v, n], z3.And(s["applied"](j, v), ts.rigid["retires"](v, n)))

    result = bmc(ts, 7, goal=("retires a main", retiring_applied))
    assert result.status == "violated" and result.run is not None
    assert result.run.steps[-1]["action"] == "Reconfigure"
    (retiring,) = [t for t in result.run.structure.rigid["retires"] if t[0] == result.run.steps[-1]["v"]]
    new_config = result.run.steps[-1]["c"]
    assert retiring[1] not in result.run.structure.quorums["main"][new_config]


FAST_RECOVERY_RUN = {
    "variant": "fastpaxos",
    "constants": {
        "nodes": ["a1", "a2", "a3"],
        "phase1": [["a1", "a2"], ["a1", "a3"], ["a2", "a3"]],
        "phase2": [["a1", "a2"], ["a1", "a3"], ["a2", "a3"]],
        "fast": [["a1", "a2", "a3"]],
        "values": ["v1", "v2"],
        "max_ballot": 2,
        "fast_ballots": [1],
    },
    "steps": [
        {"action": "Phase1a", "b": 0}, {"action": "Phase1b", "a": "a1", "b": 0},
        {"action": "Phase1b", "a": "a2", "b": 0}, {"action": "Phase2a", "b": 0, "v": "v1"},
        {"action": "Phase2b", "a": "a1", "b": 0, "v": "v1"}, {"action": "Phase2b", "a": "a2", "b": 0, "v": "v1"},
        {"action": "Phase1a", "b": 1}, {"action": "Phase1b", "a": "a1", "b": 1},
        {"action": "Phase1b", "a": "a2", "b": 1}, {"action": "Phase2a", "b": 1, "v": "v1"},
        {"action": "Phase2b", "a": "a1", "b": 1, "v": "v1"},
        {"action": "Phase1a", "b": 2}, {"action": "Phase1b", "a": "a1", "b": 2},
        {"action": "Phase1b", "a": "a3", "b": 2}, {"action": "Phase2a", "b": 2, "v": "v2"},
        {"action": "Phase2b", "a": "a3", "b": 2, "v": "v2"}, {"action": "Phase2b", "a": "a2", "b": 2, "v": "v2"},
    ],
}


def test_spec_fast_paxos_recovery_keeps_agreement(tmp_path: Path) -> None:
    """The run the proof's recovery rule forbids, replayed in the executable spec: v1 is chosen at classic
    ballot 0 by {a1, a2}, proposed again at fast ballot 1 and voted there by a1 only; the leader of 2 hears
    {a1, a3}, whose only vote is v1 at ballot 1, so it must propose v1 — the spec refuses v2 (this run found
    a bug in an earlier version of the spec, which treated any fast ballot without an O4 value as free)."""
    path = tmp_path / "run.json"
    path.write_text(json.dumps(FAST_RECOVERY_RUN))
    model, actions = load(path)
    with pytest.raises(ValueError, match=r"step 15, Phase2a\(b=2, v=v2\), is not enabled"):
        replay(model, actions)
    fixed = [*actions[:14], act("Phase2a", b=2, v="v1")]
    _, violations = replay(model, fixed)
    assert violations == []
