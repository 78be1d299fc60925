"""Cheap Paxos (spec/cheap.py): 2 mains and 1 auxiliary retire a failed main through the log; the explorer
catches an auxiliary left a quorum on its own, and an auxiliary voting on ordinary commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from paxiom import trace
from paxiom.cli.main import main
from paxiom.explorer import explore, replay
from paxiom.spec import cheap
from paxiom.spec.model import act
from paxiom.spec.quorums import QuorumSystem
from paxiom.spec.reconfig import M2a, M2b, State
from paxiom.variants import build_model

THREE = QuorumSystem.majority(3)


def model(max_ballot: int = 1, bug: str | None = None, retirable: int = 1) -> cheap.CheapModel:
    """Mains a1, a2 and auxiliary a3, one value, 2 slots, α = 1; `retirable` mains have a retirement."""
    return cheap.CheapModel(cheap.Config(THREE, ("v1",), max_ballot, slots=2, bug=bug, retirable=retirable))


def test_the_configurations_follow_from_the_mains() -> None:
    cfg = model(retirable=0).cfg
    assert isinstance(cfg, cheap.Config)
    assert [qs.name for qs in cfg.configs] == ["mains a1, a2; auxiliaries a3", "mains a2", "mains a1"]
    assert cfg.members == (frozenset({0, 1, 2}), frozenset({1}), frozenset({0}))
    assert cfg.mains_of == (frozenset({0, 1}), frozenset({1}), frozenset({0}))
    assert cfg.commands == ("v1", "cfg1", "cfg2")
    keeps = model(bug="aux-quorum").cfg
    assert keeps.members[1] == frozenset({1, 2}) and model(bug="aux-quorum").config_violation is not None


@pytest.mark.parametrize(("max_ballot", "retirable", "states"), [(0, 1, 153), (0, 0, 313)])
def test_cheap_holds_on_one_ballot(max_ballot: int, retirable: int, states: int) -> None:
    result = explore(model(max_ballot, retirable=retirable))
    assert result.violation is None and result.complete
    assert (result.distinct_states, result.depth) == (states, 11)


@pytest.mark.slow
def test_cheap_holds_on_two_ballots() -> None:
    """The TLC twin's constants (MCCheap): ~35 s on the shared machine."""
    result = explore(model())
    assert result.violation is None and result.complete
    assert (result.distinct_states, result.depth) == (30_641, 22)


def test_a_failed_main_is_retired_with_the_auxiliary() -> None:
    """a1 is down: a2 and a3 promise, choose cfg1 in slot 0, and a2 alone decides slot 1; a3 may not vote v1."""
    m = model()
    steps = [act("Phase1a", b=0), act("Phase1b", a="a2", b=0), act("Phase1b", a="a3", b=0)]
    proposed = [*steps, act("Phase2a", b=0, slot=0, v="v1")]
    with pytest.raises(ValueError, match="not enabled"):
        replay(m, [*proposed, act("Phase2b", a="a3", b=0, slot=0, v="v1")])
    steps += [act("Phase2a", b=0, slot=0, v="cfg1"), act("Phase2b", a="a2", b=0, slot=0, v="cfg1")]
    steps += [act("Phase2b", a="a3", b=0, slot=0, v="cfg1"), act("Phase2a", b=0, slot=1, v="v1")]
    steps += [act("Phase2b", a="a2", b=0, slot=1, v="v1")]
    run, violations = replay(m, steps)
    assert violations == []
    assert m.render(run[-1].state)["chosen"] == {"0": ["cfg1"], "1": ["v1"]}
    assert M2a(0, 1, "v1", 1) in run[-1].state.msgs
    with pytest.raises(ValueError, match="not enabled"):  # a3 is no member of configuration 1
        replay(m, [*steps[:-2], act("Phase2a", b=0, slot=1, v="cfg1"), act("Phase2b", a="a3", b=0, slot=1, v="cfg1")])


def test_the_explorer_catches_an_auxiliary_left_a_quorum_alone() -> None:
    m = model(bug="aux-quorum")
    result = explore(m, only={"agreement"})
    assert result.violation is not None and "slot 1 has two chosen values" in result.violation.reason
    assert len(result.violation.trace) - 1 == 12
    everything = explore(m)
    assert everything.violation is not None and everything.violation.invariant == "votes_safe"
    assert len(everything.violation.trace) - 1 == 8


def test_the_explorer_catches_an_auxiliary_voting_on_an_ordinary_command() -> None:
    result = explore(model(bug="aux-commands"))
    assert result.violation is not None and result.violation.invariant == "aux_votes_retire"
    assert "auxiliary a3 voted for the ordinary command 'v1'" in result.violation.reason
    assert len(result.violation.trace) - 1 == 5


def state(msgs: set[Any]) -> State:
    return State((0, 0, 0), ((-1, -1),) * 3, ((None, None),) * 3, frozenset(msgs))


def test_aux_votes_retire_judges_votes_by_their_configuration() -> None:
    check = model().invariants["aux_votes_retire"]
    assert check(state({M2b(2, 0, 0, "cfg1", 0), M2b(1, 0, 0, "v1", 0)})) is None
    assert check(state({M2b(2, 0, 0, "v1", 0)})) is not None
    assert check(state({M2b(2, 0, 0, "v1", 7)})) is None  # type_ok's to judge
    assert model().invariants["type_ok"](state({M2b(2, 0, 0, "v1", 7)})) is not None


@pytest.mark.parametrize(
    ("quorums", "changes", "message"),
    [
        (QuorumSystem.majority(1), {}, "at least 2 mains"),
        (QuorumSystem.majority(4), {"mains": 2}, "fewer auxiliaries than mains"),
        (QuorumSystem.flexible(3, 3, 1), {}, "follow from its mains"),
        (THREE, {"retirable": 3}, "retirable must be"),
        (THREE, {"bug": "early"}, "unknown bug"),
        (THREE, {"new": (THREE,)}, "give no further ones"),
    ],
)
def test_inconsistent_constants_are_refused(quorums: QuorumSystem, changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cheap.Config(quorums, ("v1",), 0, **changes)


def test_a_trace_file_rebuilds_the_model(tmp_path: Path) -> None:
    m = model(bug="aux-quorum")
    result = explore(m, only={"agreement"})
    assert result.violation is not None
    path = tmp_path / "cheap.json"
    trace.dump(m, [s.action for s in result.violation.trace if s.action is not None], path)
    loaded, actions = trace.load(path)
    assert isinstance(loaded, cheap.CheapModel) and loaded.constants() == m.constants()
    _, violations = replay(loaded, actions)
    assert "agreement" in {v.invariant for v in violations}
    assert build_model("cheap", THREE, **m.constants()).constants() == m.constants()
    with pytest.raises(ValueError, match="give no configs"):
        build_model("cheap", THREE, values=["v1"], max_ballot=0, configs=[THREE])


def test_cli_explores_cheap() -> None:
    runner = CliRunner()
    out = runner.invoke(main, ["explore", "--variant", "cheap", "-n", "3", "-b", "0", "-v", "1", "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert doc["verdict"] == "holds" and doc["distinct_states"] == 313
    assert {"aux_votes_retire", "votes_governed"} <= set(doc["checked"])
    assert doc["constants"]["mains"] == 2 and doc["constants"]["retirable"] == 2
    bad = runner.invoke(main, ["explore", "--variant", "cheap", "-n", "1", "--json"])
    assert bad.exit_code == 2 and "at least 2 mains" in bad.output


def test_tla_export_refuses_a_cluster_cheap_cannot_run(tmp_path: Path) -> None:
    cluster = Path(__file__).resolve().parents[1] / "examples" / "quorums" / "flexible-unsafe.toml"
    out = CliRunner().invoke(main, ["tla", "export", str(cluster), "--variant", "cheap", "--out", str(tmp_path)])
    assert out.exit_code == 2 and "cheap's quorums follow from its mains" in out.output
