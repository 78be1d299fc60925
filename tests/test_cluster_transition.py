"""`paxiom quorum check --transition OLD NEW`: the α-window's conditions on a pair of cluster files, decided
with Z3, each failure of a needed one replayed as a spec/reconfig run choosing two values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from paxiom import trace
from paxiom.cli.main import main
from paxiom.cluster.runs import Run
from paxiom.cluster.transition import CONDITIONS, Transition, check_transition, load_transition
from paxiom.cluster.transition_runs import build_run
from paxiom.explorer import explore, replay
from paxiom.spec import reconfig

EXAMPLES = Path(__file__).parent.parent / "examples" / "quorums" / "transitions"
THREE = EXAMPLES / "three.toml"


def cluster_file(tmp_path: Path, name: str, nodes: list[str], phase1: str, phase2: str | None = None) -> Path:
    quoted = ", ".join(f'"{n}"' for n in nodes)
    text = f'nodes = [{quoted}]\n[quorums]\nphase1 = "{phase1}"\n'
    path = tmp_path / f"{name}.toml"
    path.write_text(text + (f'phase2 = "{phase2}"\n' if phase2 else ""))
    return path


def quorum_check(*args: str | Path) -> tuple[Result, dict[str, object]]:
    result = CliRunner().invoke(main, ["quorum", "check", *map(str, args), "--json"])
    return result, json.loads(result.stdout)


def checks(doc: dict[str, object]) -> dict[str, dict[str, object]]:
    assert isinstance(doc["checks"], list)
    return {c["condition"]: c for c in doc["checks"]}


def run_of(run: Run | str | None) -> Run:
    assert isinstance(run, Run), run
    return run


@pytest.mark.parametrize(
    ("nodes", "expected"),
    [
        (["n1", "n2", "n3", "n4"], {"added": ["n4"], "removed": []}),
        (["n1", "n2"], {"added": [], "removed": ["n3"]}),
        (["n1", "n2", "n4"], {"added": ["n4"], "removed": ["n3"]}),
    ],
    ids=["add", "remove", "replace"],
)
def test_adding_removing_or_replacing_a_node_with_majorities_is_safe(
    tmp_path: Path, nodes: list[str], expected: dict[str, list[str]]
) -> None:
    new = cluster_file(tmp_path, "new", nodes, f"majority({', '.join(nodes)})")
    result, doc = quorum_check("--transition", THREE, new)
    assert result.exit_code == 0, result.output
    assert doc["safe"] is True and doc["trace"] is None
    nodes_doc = doc["nodes"]
    assert isinstance(nodes_doc, dict) and {k: nodes_doc[k] for k in expected} == expected
    found = checks(doc)
    assert [name for name, c in found.items() if c["needed"]] == ["old phase1 x old phase2", "new phase1 x new phase2"]
    assert all(c["holds"] for c in found.values() if c["needed"])


def test_a_quorum_change_that_breaks_within_new_is_unsafe_with_a_replayed_run(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    result, doc = quorum_check("--transition", THREE, EXAMPLES / "grow-five-unsafe.toml", "--trace-out", out)
    assert result.exit_code == 1, result.output
    failed = checks(doc)["new phase1 x new phase2"]
    assert failed["holds"] is False and failed["counterexample"] == {
        "quorums": [
            {"family": "new phase1", "nodes": ["n1", "n2", "n3"]},
            {"family": "new phase2", "nodes": ["n4", "n5"]},
        ],
        "smallest": True,
    }
    assert checks(doc)["old phase1 x old phase2"]["holds"] is True
    replayed = doc["replay"]
    assert isinstance(replayed, dict) and replayed["variant"] == "reconfig"
    assert replayed["agreement"] == "slot 1 has two chosen values: ['v1', 'v2']"
    # the file replays in the explorer: cfg1 chosen in slot 0 hands slot 1 to the new configuration, whose
    # disjoint quorums choose v1 and then v2 there
    model, actions = trace.load(out)
    steps, violation = replay(model, actions)
    assert violation is not None and len(steps) == len(actions) + 1
    final = steps[-1].state
    assert isinstance(model.cfg, reconfig.Config)
    assert reconfig.chosen(model.cfg, final) == {0: {"cfg1"}, 1: {"v1", "v2"}}
    voters = {str(a.arg("a")) for a in actions if a.name == "Phase2b" and a.arg("slot") == 1}
    assert voters == {"n4", "n5"}  # exactly the new phase-2 quorum Z3 found


def test_a_break_within_old_is_replayed_in_slot_0(tmp_path: Path) -> None:
    old = cluster_file(tmp_path, "old", ["n1", "n2", "n3", "n4"], "2 of (n1, n2, n3, n4)")
    report = check_transition(load_transition(str(old), str(THREE)))
    assert report.failed is not None and report.failed.condition.name == "old phase1 x old phase2"
    run = run_of(report.run)
    assert run.agreement == "slot 0 has two chosen values: ['v1', 'v2']"
    assert all(a.arg("slot") == 0 for a in run.actions if a.name.startswith("Phase2"))


def pair(tmp_path: Path, old: tuple[list[str], str], new: tuple[list[str], str]) -> Transition:
    return load_transition(str(cluster_file(tmp_path, "old", *old)), str(cluster_file(tmp_path, "new", *new)))


def test_cross_configuration_conditions_are_not_needed_and_only_the_mixed_bug_breaks_on_them(tmp_path: Path) -> None:
    """a1 alone -> a2 alone: no old quorum meets a new one, yet the spec explores safe; with the bug
    'mixed' (a phase-1 quorum of either configuration) the certifier's cross counterexample chooses two values."""
    t = pair(tmp_path, (["a1"], "a1"), (["a2"], "a2"))
    report = check_transition(t)
    assert report.safe and report.run is None
    cross = [o for o in report.outcomes if not o.condition.needed]
    assert [o.condition.name for o in cross] == ["old phase1 x new phase2", "new phase1 x old phase2"]
    assert all(not o.holds for o in cross)
    model = reconfig.ReconfigModel(reconfig.Config(t.system("old"), ("v1",), 1, slots=2, new=(t.system("new"),)))
    result = explore(model)
    assert result.complete and result.violation is None and result.distinct_states == 841
    for outcome in cross:
        assert outcome.counterexample is not None
        mixed = run_of(build_run(t, outcome.counterexample, bug="mixed"))
        assert mixed.agreement is not None and "two chosen values" in mixed.agreement
        refused = build_run(t, outcome.counterexample)
        assert isinstance(refused, str) and "Phase2a" in refused  # the real protocol takes no such step


def test_replacing_a_node_fails_only_cross_conditions(tmp_path: Path) -> None:
    report = check_transition(load_transition(str(THREE), str(EXAMPLES / "replace-n3.toml")))
    verdicts = {o.condition.name: o.holds for o in report.outcomes}
    assert verdicts == dict.fromkeys((c.name for c in CONDITIONS), True) | {
        "old phase1 x new phase2": False,
        "new phase1 x old phase2": False,
    }
    assert report.safe


def test_a_large_pair_replays_on_the_nodes_its_run_uses(tmp_path: Path) -> None:
    old_nodes = [f"r{i}" for i in range(1, 31)]
    new_nodes = [*old_nodes, "r31"]
    zone = ", ".join(new_nodes)
    t = pair(tmp_path, (old_nodes, f"majority({', '.join(old_nodes)})"), (new_nodes, f"3 of ({zone})"))
    report = check_transition(t)
    assert report.failed is not None and report.failed.condition.name == "new phase1 x new phase2"
    run = run_of(report.run)
    assert run.restricted_to is not None and len(run.restricted_to) <= 20
    assert run.agreement == "slot 1 has two chosen values: ['v1', 'v2']"


def test_bad_input_is_one_line_naming_the_file_position(tmp_path: Path) -> None:
    broken = tmp_path / "new.toml"
    broken.write_text('nodes = ["n1", "n2"]\n[quorums]\nphase1 = "majority(n1, n9)"\n')
    result = CliRunner().invoke(main, ["quorum", "check", "--transition", str(THREE), str(broken)])
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert "\n" not in line and f"{broken}:3:" in line and "n9" in line
    fast = tmp_path / "fast.toml"
    fast.write_text(
        'nodes = ["n1", "n2", "n3"]\n[quorums]\nphase1 = "majority(n1, n2, n3)"\nfast = "all(n1, n2, n3)"\n'
    )
    result = CliRunner().invoke(main, ["quorum", "check", "--transition", str(fast), str(THREE), "--json"])
    assert result.exit_code == 2 and f"{fast}:4:1" in result.stderr and "fast rounds" in result.stderr
    assert json.loads(result.stdout)["error"]
    for args in (["--transition", str(THREE), str(THREE), str(THREE)], []):
        result = CliRunner().invoke(main, ["quorum", "check", *args])
        assert result.exit_code == 2 and "Traceback" not in result.output
