"""`paxiom sim`: exit codes, one JSON document with --json, replayable trace files."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from paxiom.cli.main import main


def _run(*args: str) -> tuple[int, dict | list]:  # type: ignore[type-arg]
    result = CliRunner().invoke(main, ["sim", *args, "--json"])
    return result.exit_code, json.loads(result.stdout)


def test_list_mutants_json() -> None:
    code, doc = _run("--list-mutants")
    assert code == 0 and isinstance(doc, list) and len(doc) >= 15
    assert {"name", "role", "description"} <= set(doc[0])


def test_soak_holds(tmp_path: Path) -> None:
    code, doc = _run("--replicas", "5", "--seed", "2", "--steps", "600", "--trace-out", str(tmp_path / "t.json"))
    assert code == 0 and isinstance(doc, dict) and doc["holds"] is True and doc["checked_transitions"] > 0


def test_mutant_caught_then_replayed(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    code, doc = _run("--mutant", "phase1-quorum-too-small", "--trace-out", str(path), "--shrink-seconds", "2")
    assert code == 1 and isinstance(doc, dict) and doc["holds"] is False and doc["check"].startswith("Phase2a")
    code, again = _run("--replay", str(path))
    assert code == 1 and isinstance(again, dict) and again["check"] == doc["check"]


def test_bad_input_exits_2(tmp_path: Path) -> None:
    code, doc = _run("--mutant", "no-such-bug")
    assert code == 2 and isinstance(doc, dict) and "no-such-bug" in doc["error"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"variant": "multipaxos-sim", "constants": {}, "steps": [{"action": "fly"}]}')
    code, doc = _run("--replay", str(bad))
    assert code == 2 and isinstance(doc, dict) and "steps[0].action: must be one of" in doc["error"]
    code, doc = _run("--faults", "lightning")
    assert code == 2 and isinstance(doc, dict) and "lightning" in doc["error"]
    code, doc = _run("--q1", "1", "--q2", "1")
    assert code == 2 and isinstance(doc, dict) and "share no acceptor" in doc["error"]
