"""Counterexample runs replay through the spec, and `paxiom quorum check` keeps the CLI conventions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from paxiom import trace
from paxiom.cli.main import main
from paxiom.cluster import load_cluster, parse_cluster
from paxiom.cluster.check import check
from paxiom.cluster.runs import Run
from paxiom.explorer import replay

EXAMPLES = Path(__file__).parent.parent / "examples" / "quorums"
UNSAFE = ["two-dc-unsafe", "flexible-unsafe", "fast-paxos-unsafe"]


def run_of(report_run: Run | str | None) -> Run:
    assert isinstance(report_run, Run), report_run
    return report_run


@pytest.mark.parametrize("name", UNSAFE)
def test_unsafe_examples_come_with_a_run_choosing_two_values(name: str, tmp_path: Path) -> None:
    c = load_cluster(EXAMPLES / f"{name}.toml")
    report = check(c, with_load=False)
    run = run_of(report.run)
    assert run.agreement is not None and "two values are chosen" in run.agreement
    assert run.chosen[-1] == ["v1", "v2"]
    assert run.model.variant == ("fastpaxos" if c.fast is not None else "paxos")
    # the run acts through exactly the violating quorums
    failed = report.failed
    assert failed is not None and failed.counterexample is not None
    used = {str(a.arg("a")) for a in run.actions if any(k == "a" for k, _ in a.args)}
    involved = {n for _, m in failed.counterexample.quorums for n in c.names(m)}
    assert used == involved
    # written as a trace file, it loads and replays in the explorer to the agreement violation
    path = tmp_path / "run.json"
    run.write(path)
    model, actions = trace.load(path)
    steps, violation = replay(model, actions)
    assert violation is not None and len(steps) == len(actions) + 1
    assert model.invariants["agreement"](steps[-1].state) is not None


def test_fast_file_failing_phase1_x_phase2_gets_a_classic_run_in_the_fast_spec() -> None:
    text = (
        'nodes = ["a", "b", "c", "d"]\n[zones]\nz = ["a", "b", "c", "d"]\n'
        '[quorums]\nphase1 = "2 of (z)"\nfast = "4 of (z)"\n'
    )
    report = check(parse_cluster(text), with_load=False)
    assert report.failed is not None and report.failed.condition.name == "phase1 x phase2"
    run = run_of(report.run)
    assert run.model.variant == "fastpaxos" and run.agreement is not None
    assert {a.name for a in run.actions} == {"Phase1a", "Phase1b", "Phase2a", "Phase2b"}


def test_fast_quorum_missing_phase1_entirely_chooses_unseen() -> None:
    # phase 1 of 2 meets phase 2 of 4, but a fast quorum of 3 can avoid a phase-1 quorum altogether
    text = (
        'nodes = ["a", "b", "c", "d", "e"]\n[zones]\nz = ["a", "b", "c", "d", "e"]\n'
        '[quorums]\nphase1 = "2 of (z)"\nphase2 = "4 of (z)"\nfast = "3 of (z)"\n'
    )
    c = parse_cluster(text)
    report = check(c, with_load=False)
    failed = report.failed
    assert failed is not None and failed.counterexample is not None
    q1, f1, f2 = (m for _, m in failed.counterexample.quorums)
    assert q1 & f1 == 0 or q1 & f2 == 0
    run = run_of(report.run)
    assert run.agreement is not None
    # nobody in the phase-1 quorum voted, so the recovery leader was free to propose v2
    voters = {str(a.arg("a")) for a in run.actions if a.name == "Phase2bAny"}
    assert voters.isdisjoint(c.names(q1))


def test_runs_of_large_clusters_replay_on_the_nodes_they_use() -> None:
    nodes = [f"n{i}" for i in range(40)]
    listed = ", ".join(f'"{n}"' for n in nodes)
    text = (
        f"nodes = [{listed}]\n[zones]\neveryone = [{listed}]\n[quorums]\n"
        'phase1 = "any(all(n0, n1), 30 of (everyone))"\nphase2 = "any(all(n2, n3), 30 of (everyone))"\n'
    )
    report = check(parse_cluster(text), with_load=False)
    run = run_of(report.run)
    assert run.restricted_to == ("n0", "n1", "n2", "n3")
    assert run.agreement is not None


def test_fast_runs_of_large_clusters_replay_on_the_violating_quorums() -> None:
    nodes = [f"n{i}" for i in range(40)]
    listed = ", ".join(f'"{n}"' for n in nodes)
    text = (
        f"nodes = [{listed}]\n[zones]\neveryone = [{listed}]\n[quorums]\n"
        'phase1 = "any(all(n0, n1, n2), 36 of (everyone))"\nphase2 = "38 of (everyone)"\n'
        'fast = "any(all(n0, n3), all(n1, n4), 39 of (everyone))"\n'
    )
    report = check(parse_cluster(text), with_load=False)
    assert report.failed is not None and report.failed.condition.name == "phase1 x fast x fast"
    run = run_of(report.run)
    assert run.restricted_to == ("n0", "n1", "n2", "n3", "n4")
    assert run.agreement is not None and run.model.variant == "fastpaxos"


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout


def test_cli_exit_codes_and_json(tmp_path: Path) -> None:
    code, out = invoke("quorum", "check", str(EXAMPLES / "three-dc.toml"), "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["safe"] is True and doc["trace"] is None and doc["nodes"][0] == "a1"
    assert doc["fault_tolerance"]["phase1"]["min_crashes"] == 4
    assert all(c["counterexample"] is None for c in doc["checks"])

    out_file = tmp_path / "t.json"
    unsafe = str(EXAMPLES / "fast-paxos-unsafe.toml")
    code, out = invoke("quorum", "check", unsafe, "--json", "--trace-out", str(out_file))
    assert code == 1
    doc = json.loads(out)
    assert doc["safe"] is False and doc["trace"] and doc["trace_file"] == str(out_file)
    failing = [c for c in doc["checks"] if not c["holds"]]
    assert failing[0]["condition"] == "phase1 x fast x fast"
    assert [q["family"] for q in failing[0]["counterexample"]["quorums"]] == ["phase1", "fast", "fast"]
    assert json.loads(out_file.read_text())["steps"] == doc["trace"]
    code, _ = invoke("explore", "--replay", str(out_file))
    assert code == 1


def test_cli_bad_file_is_one_line_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('nodes = ["a", "b"]\n[quorums]\nphase1 = "3 of (a, b)"\n')
    code, out = invoke("quorum", "check", str(bad), "--json")
    assert code == 2
    assert json.loads(out)["error"].startswith(f"{bad}:3:11: quorums.phase1: threshold 3")
    code, _ = invoke("quorum", "check", str(tmp_path / "missing.toml"))
    assert code == 2


def test_cli_human_output_shows_the_run(tmp_path: Path) -> None:
    code, out = invoke("quorum", "check", str(EXAMPLES / "two-dc-unsafe.toml"))
    assert code == 1
    assert "UNSAFE" in out and "Phase2b" in out and "agreement fails" in out
    code, out = invoke("quorum", "--help")
    assert code == 0 and "majority(args)" in out and "K of (args)" in out
