"""`paxiom conform`: exit codes, one JSON document with --json, JUnit XML, replay files, usage errors."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from click.testing import CliRunner

from paxiom.cli.main import main

CORE = f"{Path(__file__).resolve().parents[1] / 'examples' / 'conformance' / 'paxiom_core.py'}:Core"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["conform", *args])
    return result.exit_code, result.stdout


def test_a_conformant_target_exits_0_with_one_json_document(tmp_path: Path) -> None:
    code, out = run("--adapter", CORE, "--role", "acceptor", "--max-examples", "30", "--json", "--out", str(tmp_path))
    assert code == 0
    doc = json.loads(out)
    assert doc["conforms"] is True and doc["role"] == "acceptor" and doc["protocol"] == "paxiom-conform/1"
    assert doc["messages_judged"]["promise"] > 0


def test_a_run_that_judges_nothing_is_inconclusive_not_a_pass(tmp_path: Path) -> None:
    """Thirty schedules rarely let the learner decide: judging nothing must not read as conformance."""
    code, out = run("--adapter", CORE, "--role", "learner", "--max-examples", "30", "--json", "--out", str(tmp_path))
    doc = json.loads(out)
    assert doc["messages_judged"] == {} and doc["findings"] == []
    assert code == 1 and doc["vacuous"] is True and doc["conforms"] is False


def test_a_violation_exits_1_with_replay_diagram_and_junit(tmp_path: Path) -> None:
    junit = tmp_path / "report.xml"
    code, out = run(
        "--adapter", CORE, "--role", "proposer", "--option", "mutant=propose-own-value", "--max-examples", "80",
        "--max-findings", "1", "--json", "--junit", str(junit), "--out", str(tmp_path / "findings"),
    )  # fmt: skip
    assert code == 1
    [finding] = json.loads(out)["findings"]
    assert finding["rule"] == "highest_vote" and finding["schedule"]
    replay_file = Path(finding["replay_file"])
    assert json.loads(replay_file.read_text())["rule"] == "highest_vote"
    assert replay_file.with_suffix(".mmd").read_text().startswith("sequenceDiagram")
    failures = ET.parse(junit).getroot().iter("failure")
    assert [f.get("type") for f in failures] == ["highest_vote"]
    code, out = run("--adapter", CORE, "--replay", str(replay_file), "--json", "--out", str(tmp_path / "again"))
    assert code == 1 and json.loads(out)["findings"][0]["rule"] == "highest_vote"


def test_usage_errors_exit_2_in_one_line(tmp_path: Path) -> None:
    for args in (
        [],
        ["--adapter", CORE, "--", "node", "x.js"],
        ["--adapter", "no_such_module:Thing"],
        ["--adapter", "paxiom.errors:PaxiomError"],
        ["--adapter", CORE, "--option", "novalue"],
        ["--", str(tmp_path / "missing-binary")],
    ):
        code, out = run("--json", "--max-examples", "1", "--out", str(tmp_path), *args)
        assert code == 2, args
        assert list(json.loads(out)) == ["error"], args
