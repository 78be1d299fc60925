"""Reconfiguration through the log (spec/reconfig.py): the α-window is safe, and the explorer catches a
configuration applied too early and old and new quorums mixed; every named invariant catches a state built
to break it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from paxiom import trace
from paxiom.cli.main import main
from paxiom.explorer import explore, replay
from paxiom.spec import reconfig
from paxiom.spec.model import act
from paxiom.spec.multipaxos import M1b
from paxiom.spec.paxos import M1a
from paxiom.spec.quorums import Explicit, QuorumSystem, acceptor_names
from paxiom.spec.reconfig import M2a, M2b, State
from paxiom.variants import build_model

NODES = acceptor_names(2)


def alone(node: str) -> QuorumSystem:
    family = Explicit(NODES, [[node]])
    return QuorumSystem(family, family)


def swap(alpha: int = 1, bug: str | None = None) -> reconfig.ReconfigModel:
    """a1 alone, then a2 alone: configurations that share no acceptor, so only the window keeps it safe."""
    cfg = reconfig.Config(alone("a1"), ("v1",), 1, slots=2, alpha=alpha, new=(alone("a2"),), bug=bug)
    return reconfig.ReconfigModel(cfg)


@pytest.mark.parametrize(("alpha", "states", "depth"), [(1, 841, 14), (2, 2073, 14)])
def test_the_window_is_safe_across_disjoint_configurations(alpha: int, states: int, depth: int) -> None:
    result = explore(swap(alpha))
    assert result.violation is None and result.complete
    assert (result.distinct_states, result.depth) == (states, depth)


def test_the_new_configuration_governs_from_slot_i_plus_alpha() -> None:
    """cfg1 chosen in slot 0 makes a2 alone decide slot 1 (α = 1); a1 may no longer vote there."""
    m = swap()
    steps = [act("Phase1a", b=0), act("Phase1b", a="a1", b=0), act("Phase1b", a="a2", b=0)]
    with pytest.raises(ValueError, match="not enabled"):  # slot 1's configuration is unknown until slot 0 is decided
        replay(m, [*steps, act("Phase2a", b=0, slot=1, v="v1")])
    steps += [act("Phase2a", b=0, slot=0, v="cfg1"), act("Phase2b", a="a1", b=0, slot=0, v="cfg1")]
    steps += [act("Phase2a", b=0, slot=1, v="v1"), act("Phase2b", a="a2", b=0, slot=1, v="v1")]
    trace, violations = replay(m, steps)
    assert violations == []
    final = trace[-1].state
    assert m.render(final)["chosen"] == {"0": ["cfg1"], "1": ["v1"]}
    assert M2a(0, 1, "v1", 1) in final.msgs
    with pytest.raises(ValueError, match="not enabled"):
        replay(m, [*steps, act("Phase2b", a="a1", b=0, slot=1, v="v1")])


@pytest.mark.parametrize(("bug", "alpha", "first"), [("early", 2, "votes_governed"), ("mixed", 1, "votes_safe")])
def test_the_explorer_catches_each_bug(bug: str, alpha: int, first: str) -> None:
    m = swap(alpha, bug)
    result = explore(m, only={"agreement"})
    assert result.violation is not None and result.violation.invariant == "agreement"
    assert m.invariants["agreement"](result.violation.trace[-1].state) is not None
    everything = explore(m)
    assert everything.violation is not None and everything.violation.invariant == first
    assert len(everything.violation.trace) <= len(result.violation.trace)


def test_the_early_bug_reaches_agreement_even_with_alpha_one() -> None:
    result = explore(swap(1, "early"), only={"agreement"})
    assert result.violation is not None and "slot 1 has two chosen values" in result.violation.reason


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"alpha": 0}, "alpha must be at least 1"), ({"bug": "late"}, "unknown bug"), ({"values": ("cfg1",)}, "named")],
)
def test_inconsistent_constants_are_refused(changes: dict[str, Any], message: str) -> None:
    constants: dict[str, Any] = {"values": ("v1",), "max_ballot": 1, "slots": 2, "new": (alone("a2"),)}
    with pytest.raises(ValueError, match=message):
        reconfig.Config(alone("a1"), **(constants | changes))


def test_build_model_reads_its_constants_back() -> None:
    m = swap(2)
    rebuilt = build_model("reconfig", alone("a1"), **m.constants())
    assert isinstance(rebuilt, reconfig.ReconfigModel) and rebuilt.constants() == m.constants()
    assert rebuilt.cfg.members == m.cfg.members == (frozenset({0}), frozenset({1}))
    default = build_model("reconfig", QuorumSystem.majority(3), values=["v1"], max_ballot=0)
    assert isinstance(default, reconfig.ReconfigModel)
    assert default.cfg.members == (frozenset({0, 1, 2}), frozenset({1, 2}))


def test_a_configuration_whose_quorums_miss_is_reported() -> None:
    miss = QuorumSystem(Explicit(NODES, [["a1"]]), Explicit(NODES, [["a2"]]))
    m = reconfig.ReconfigModel(reconfig.Config(alone("a1"), ("v1",), 0, new=(miss,)))
    assert m.config_violation is not None
    assert swap().config_violation is None


def test_cli_explores_reconfig_and_refuses_a_zero_window() -> None:
    runner = CliRunner()
    out = runner.invoke(main, ["explore", "--variant", "reconfig", "-n", "2", "-b", "1", "-v", "1", "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert doc["verdict"] == "holds" and "votes_governed" in doc["checked"]
    assert doc["constants"]["configs"] == [{"phase1": [["a2"]], "phase2": [["a2"]]}]
    bad = runner.invoke(main, ["explore", "--variant", "reconfig", "-n", "2", "--alpha", "0", "--json"])
    assert bad.exit_code == 2


# ---------------------------------------------------------------- each invariant catches a state built to break it


def state(votes: dict[int, tuple[int, str]], msgs: set[Any], max_bal: tuple[int, int] = (1, 1)) -> State:
    """Acceptor a's only vote is votes[a] = (ballot, value), in slot 0."""
    vbal = tuple((votes[a][0] if a in votes else -1, -1) for a in range(2))
    vval = tuple((votes[a][1] if a in votes else None, None) for a in range(2))
    return State(max_bal, vbal, vval, frozenset(msgs))


def violated(s: State, model: reconfig.ReconfigModel | None = None) -> set[str]:
    m = model or swap()
    return {name for name, check in m.invariants.items() if check(s) is not None}


def test_init_satisfies_every_invariant() -> None:
    m = swap()
    assert violated(m.init()[0]) == set()


def test_type_ok_catches_an_unknown_configuration() -> None:
    assert "type_ok" in violated(state({}, {M2a(0, 0, "v1", 5)}))


def test_votes_governed_catches_slot_zero_voted_in_the_new_configuration() -> None:
    assert violated(state({1: (0, "v1")}, {M2a(0, 0, "v1", 1), M2b(1, 0, 0, "v1", 1)})) == {"votes_governed"}


def test_votes_governed_catches_a_proposal_before_its_configuration_is_known() -> None:
    assert "votes_governed" in violated(state({}, {M2a(0, 1, "v1", 0)}))


def test_one_value_per_ballot_and_agreement_and_validity() -> None:
    two = {M2a(0, 0, "v1", 0), M2b(0, 0, 0, "v1", 0), M2b(0, 0, 0, "cfg1", 0)}
    assert "one_value_per_ballot" in violated(state({0: (0, "v1")}, two))
    chosen_twice = {M2a(0, 0, "v1", 0), M2b(0, 0, 0, "v1", 0), M2a(1, 0, "cfg1", 0), M2b(0, 1, 0, "cfg1", 0)}
    assert "agreement" in violated(state({0: (1, "cfg1")}, chosen_twice))
    assert violated(state({0: (0, "v1")}, {M2b(0, 0, 0, "v1", 0)})) >= {"validity"}


def test_votes_safe_judges_each_ballot_by_its_own_configuration() -> None:
    """v1 chosen at 0 by a1 (configuration 0); a vote for cfg1 at 1 is unsafe under 0's quorums."""
    msgs = {M1a(1), M1b(0, 1, ((0, "v1"), (-1, None))), M2a(0, 0, "v1", 0), M2b(0, 0, 0, "v1", 0)}
    msgs |= {M2a(1, 0, "cfg1", 0), M2b(0, 1, 0, "cfg1", 0)}
    s = state({0: (1, "cfg1")}, msgs)
    assert "votes_safe" in violated(s)
    assert (
        reconfig.votes_safe(swap().cfg, state({0: (0, "v1")}, msgs - {M2a(1, 0, "cfg1", 0), M2b(0, 1, 0, "cfg1", 0)}))
        is None
    )


def test_stability_catches_a_lost_vote() -> None:
    msgs = {M2a(0, 0, "v1", 0), M2b(0, 0, 0, "v1", 0)}
    before, after = state({0: (0, "v1")}, msgs), state({0: (0, "v1")}, {M2a(0, 0, "v1", 0)})
    assert swap().step_invariants["stability"](before, after) is not None
    assert swap().step_invariants["stability"](after, before) is None


def test_a_violating_trace_file_replays_and_a_malformed_one_is_refused(tmp_path: Path) -> None:
    m = swap(2, "early")
    result = explore(m, only={"agreement"})
    assert result.violation is not None
    path = tmp_path / "early.json"
    trace.dump(m, [s.action for s in result.violation.trace if s.action is not None], path)
    out = CliRunner().invoke(main, ["explore", "--replay", str(path), "--json"])
    assert out.exit_code == 1 and "agreement" in {v["invariant"] for v in json.loads(out.output)["violations"]}
    doc = json.loads(path.read_text())
    doc["constants"]["configs"][0]["phase1"] = [["a9"]]
    path.write_text(json.dumps(doc))
    bad = CliRunner().invoke(main, ["explore", "--replay", str(path), "--json"])
    assert bad.exit_code == 2 and "configs" in bad.output


def test_cli_takes_the_second_configuration_from_a_cluster_file(tmp_path: Path) -> None:
    """Replace a1 by a3 (a2 stays): three acceptors, each configuration a pair that must both answer."""

    def cluster(name: str, nodes: str, pair: str) -> str:
        path = tmp_path / f"{name}.toml"
        path.write_text(f'nodes = [{nodes}]\n[quorums]\nphase1 = "all({pair})"\nphase2 = "all({pair})"\n')
        return str(path)

    three = '"a1", "a2", "a3"'
    old, new = cluster("old", three, "a1, a2"), cluster("new", three, "a2, a3")
    args = ["explore", "--variant", "reconfig", "--quorums", old, "-b", "1", "-v", "1", "--json"]
    out = CliRunner().invoke(main, [*args, "--new-quorums", new])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert (doc["verdict"], doc["distinct_states"], doc["depth"]) == ("holds", 3193, 20)
    other = CliRunner().invoke(main, [*args, "--new-quorums", cluster("other", '"x", "y"', "x, y")])
    assert other.exit_code == 2 and "same acceptors" in other.output
