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

from paxiom.errors import PaxiomError
from paxiom.explorer import replay
from paxiom.proofs import variants
from paxiom.proofs.bmc import bmc
from paxiom.proofs.check import weakened
from paxiom.proofs.cti import Counterexample, Reader
from paxiom.proofs.fol import Rel, State
from paxiom.proofs.prover import ProofResult, prove
from paxiom.proofs.spec_trace import trace_document
from paxiom.spec.fastpaxos import Config as FastConfig
from paxiom.spec.fastpaxos import recoverable
from paxiom.spec.model import act
from paxiom.spec.quorums import QuorumSystem, Threshold
from paxiom.trace import load

TIMEOUT_S = 60.0
CHEAP_BY_DEFAULT = ("config_unique",)
"""Cheap Paxos's 113 obligations take seconds per run: this conjunct runs by default, the rest with -m slow."""


def _case(variant: str, name: str) -> Any:
    slow = variant == "cheap" and name not in CHEAP_BY_DEFAULT
    return pytest.param(variant, name, marks=[pytest.mark.slow] if slow else [])


CONJUNCTS = [_case(v, c.name) for v in variants.NAMES for c in variants.model(v).conjuncts]
AXIOMS = [
    (v, a.name)
    for v in variants.NAMES
    if v not in ("cheap", "reconfig")  # per-configuration axioms: their own tests
    for a in variants.model(v).axioms
    if a.weakened is not None
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
    with pytest.raises(PaxiomError, match=r"steps\[14\]: Phase2a\(b=2, v=v2\) is not enabled"):
        load(path)
    steps = [dict(step) for step in FAST_RECOVERY_RUN["steps"]]
    assert steps[14] == {"action": "Phase2a", "b": 2, "v": "v2"}
    steps[14]["v"] = "v1"
    path.write_text(json.dumps({**FAST_RECOVERY_RUN, "steps": steps[:15]}))
    model, actions = load(path)
    assert actions[14] == act("Phase2a", b=2, v="v1")
    _, violations = replay(model, actions)
    assert violations == []


Reports = dict[str, tuple[int, str | None]]
"""Phase-1 reports (mbal, mval) of the members of q, as the spec's `recoverable` reads them."""

FAST_NODES = ("a1", "a2", "a3", "a4")
FAST_Q = ("a1", "a2", "a3")
FAST_VALUES = ("v1", "v2", "v3")
FAST_BALLOTS = (1, 3)
NO_VOTE = (-1, None)
RECOVERY_CASES: dict[str, Reports] = {
    "no votes": {"a1": NO_VOTE, "a2": NO_VOTE, "a3": NO_VOTE},
    "one vote at a classic ballot": {"a1": (0, "v1"), "a2": NO_VOTE, "a3": NO_VOTE},
    "one value at a fast ballot, no O4": {"a1": (1, "v1"), "a2": NO_VOTE, "a3": NO_VOTE},
    "collision with an O4 value": {"a1": (1, "v1"), "a2": (1, "v1"), "a3": (1, "v2")},
    "collision, no O4 value": {"a1": (1, "v1"), "a2": (1, "v2"), "a3": NO_VOTE},
    "three-way collision": {"a1": (1, "v1"), "a2": (1, "v2"), "a3": (1, "v3")},
    "collision above a lower vote": {"a1": (0, "v2"), "a2": (1, "v1"), "a3": (1, "v3")},
    "classic vote above a collision": {"a1": (2, "v2"), "a2": (1, "v1"), "a3": (1, "v3")},
}


def _model_recovery(reports: Reports, b: int) -> tuple[set[str], bool]:
    """What the proof model's Phase2a and Phase2aAny allow the leader of b after hearing q = FAST_Q with
    these reports, on a concrete structure: 4 nodes, fast quorums any 3 of them, ballots 0..b plus none."""
    ts = variants.model("fastpaxos")
    sort = ts.sorts
    nodes = {n: z3.Const(n, sort["node"]) for n in FAST_NODES}
    rounds = [ts.constants["none"], *(z3.Const(f"r{i}", sort["round"]) for i in range(b + 1))]
    values = {x: z3.Const(x, sort["value"]) for x in FAST_VALUES}
    q = z3.Const("q", sort["quorum"])
    fastqs = {f: z3.Const("f" + "".join(f), sort["fastquorum"]) for f in itertools.combinations(FAST_NODES, 3)}
    solver = z3.Solver()
    solver.add(*(a.formula for a in ts.axioms))
    for consts in (list(nodes.values()), rounds, list(values.values()), [q], list(fastqs.values())):
        x = z3.Const("x", consts[0].sort())
        if len(consts) > 1:
            solver.add(z3.Distinct(*consts))
        solver.add(z3.ForAll([x], z3.Or(*(x == c for c in consts))))
    rigid = ts.rigid
    for (i, r1), (j, r2) in itertools.product(enumerate(rounds), repeat=2):
        solver.add(rigid["le"](r1, r2) == (i <= j))
    for i, r in enumerate(rounds[1:]):
        solver.add(rigid["fast"](r) == (i in FAST_BALLOTS))
    solver.add(z3.Not(rigid["fast"](rounds[0])))
    for name, n in nodes.items():
        solver.add(rigid["member"](n, q) == (name in FAST_Q))
        solver.add(*(rigid["memberf"](n, f) == (name in members) for members, f in fastqs.items()))
    votes = [(nodes[a], rounds[mbal + 1], values[val]) for a, (mbal, val) in reports.items() if val is not None]
    joined = [(nodes[a], rounds[b + 1]) for a in FAST_Q]

    def holding(tuples: list[tuple[z3.ExprRef, ...]]) -> Rel:
        return lambda *args: z3.Or(*(z3.And(*(x == y for x, y in zip(args, t, strict=True))) for t in tuples))

    state: State = {
        "one_a": holding([]),
        "one_b": holding(joined),
        "left_round": lambda n, r: z3.And(z3.Or(*(n == m for m, _ in joined)), rigid["le"](r, rounds[b])),
        "proposal": holding([]),
        "vote": holding(votes),
        "any_msg": holding([]),
    }
    maxb = z3.Const("maxb", sort["round"])

    def enabled(action: str, **params: z3.ExprRef) -> bool:
        guard, _ = next(a for a in ts.actions if a.name == action).apply(state, {**params, "maxb": maxb})
        verdict = solver.check(guard)
        assert verdict != z3.unknown
        return bool(verdict == z3.sat)

    b_round = rounds[b + 1]
    proposable = {x for x, val in values.items() if enabled("Phase2a", b=b_round, v=val, q=q)}
    return proposable, enabled("Phase2aAny", b=b_round, q=q)


@pytest.mark.parametrize("case", RECOVERY_CASES)
def test_fast_paxos_recovery_rule_is_the_specs(case: str) -> None:
    """The model's Phase2a/Phase2aAny guards allow exactly what the spec's `recoverable` does, case by case:
    a single value at the highest ballot must be proposed whatever its kind, a collision's O4 value must be
    proposed, and a collision without one leaves the leader free (any value, and "any" at a fast ballot)."""
    reports = RECOVERY_CASES[case]
    quorums = QuorumSystem(Threshold(FAST_NODES, 3), Threshold(FAST_NODES, 3), Threshold(FAST_NODES, 3))
    cfg = FastConfig(quorums, FAST_VALUES, max_ballot=3, fast_ballots=frozenset(FAST_BALLOTS))
    index = {a: i for i, a in enumerate(FAST_NODES)}
    rule = recoverable(cfg, {index[a]: report for a, report in reports.items()})
    proposable, any_allowed = _model_recovery(reports, 3)
    assert proposable == (set(FAST_VALUES) if rule is None else rule)
    assert any_allowed == (rule is None)


@pytest.mark.slow
def test_free_proposal_after_a_collision_is_reachable_and_the_spec_takes_it(tmp_path: Path) -> None:
    """BMC (one to two minutes) finds a run whose last step proposes, after a collision at the quorum's
    highest round, a value nobody voted — allowed only by the free-after-collision part of the rule — and
    the executable spec replays the run without breaking any invariant."""
    ts = variants.model("fastpaxos")
    member, le = ts.rigid["member"], ts.rigid["le"]
    q = z3.Const("GQ", ts.sorts["quorum"])
    r, r1, r2 = z3.Consts("GR GR1 GR2", ts.sorts["round"])
    val, w1, w2 = z3.Consts("GV GW1 GW2", ts.sorts["value"])
    n, n1, n2 = z3.Consts("GN GN1 GN2", ts.sorts["node"])

    def free_after_collision(s: State) -> z3.BoolRef:
        return z3.Exists([q, r1, r2, val, n1, n2, w1, w2], z3.And(
            z3.Not(le(r2, r1)), s["proposal"](r2, val),
            member(n1, q), member(n2, q), s["vote"](n1, r1, w1), s["vote"](n2, r1, w2), w1 != w2,
            z3.ForAll([n], z3.Implies(member(n, q), s["one_b"](n, r2))),
            z3.ForAll([n, r], z3.Not(s["vote"](n, r, val))),
        ))

    result = bmc(ts, 10, goal=("proposes freely after a collision", free_after_collision))
    assert result.status == "violated" and result.run is not None
    last = result.run.steps[-1]
    assert last["action"] == "Phase2a" and last["maxb"] != "none"
    members = result.run.structure.quorums["member"][last["q"]]
    at_maxb = {w for (a, rnd, w) in result.run.final["vote"] if a in members and rnd == last["maxb"]}
    assert len(at_maxb) >= 2 and last["v"] not in at_maxb  # only the free-after-collision disjunct allows it
    path = tmp_path / "run.json"
    path.write_text(json.dumps(trace_document(result.run)))
    model, actions = load(path)
    _, violations = replay(model, actions)
    assert violations == []
