"""`paxiom trace check`: the oracle over per-node JSON-lines traces, merged in causal order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from paxiom.cli.main import main
from paxiom.impl import tracecheck
from paxiom.impl.mutants import Mutation
from paxiom.impl.sim.runner import Faults, run
from paxiom.impl.sim.simulator import ClusterSettings


def _check(directory: Path, *extra: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    result = CliRunner().invoke(main, ["trace", "check", str(directory), "--json", *extra])
    return result.exit_code, json.loads(result.stdout)


def test_a_correct_run_holds_offline_with_the_same_spec_actions(tmp_path: Path) -> None:
    result = run(ClusterSettings(replicas=3, seed=2), 600, Faults(), trace_dir=tmp_path)
    assert result.objection is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a1.jsonl", "a2.jsonl", "a3.jsonl"]
    code, doc = _check(tmp_path, "--kv-reference")
    assert code == 0 and doc["holds"] is True and doc["nodes"] == ["a1", "a2", "a3"]
    assert doc["spec_actions_matched"] == result.actions_matched > 0


def test_a_mutant_run_gets_the_first_objection_with_its_record(tmp_path: Path) -> None:
    settings = ClusterSettings(replicas=3, seed=0, mutations=frozenset({Mutation.PROPOSE_OWN_VALUE}))
    result = run(settings, 3000, Faults(), trace_dir=tmp_path)
    assert result.objection is not None
    code, doc = _check(tmp_path)
    assert code == 1 and doc["holds"] is False
    assert doc["check"] == result.objection.check and doc["file"].endswith(".jsonl") and doc["line"] >= 1


def test_receives_wait_for_their_sends_whatever_the_file_order(tmp_path: Path) -> None:
    run(ClusterSettings(replicas=3, seed=4), 300, Faults(frozenset()), trace_dir=tmp_path)
    # node a1's file renamed to sort last: merging must still hold every receive back until its send
    (tmp_path / "a1.jsonl").rename(tmp_path / "z.jsonl")
    code, doc = _check(tmp_path)
    assert code == 0 and doc["holds"] is True


def test_a_malformed_trace_exits_2_naming_file_line_and_field(tmp_path: Path) -> None:
    run(ClusterSettings(replicas=3, seed=2), 100, Faults(), trace_dir=tmp_path)
    path = tmp_path / "a2.jsonl"
    lines = path.read_text().splitlines()
    record = json.loads(lines[2])
    record["node"] = "one"
    lines[2] = json.dumps(record)
    path.write_text("\n".join(lines) + "\n")
    code, doc = _check(tmp_path)
    assert code == 2 and doc["error"].startswith(f"{path}:3: field record.node")
    code, doc = _check(tmp_path / "nowhere")
    assert code == 2 and "not a directory" in doc["error"]


def test_a_bad_byte_or_an_endless_line_is_named_at_its_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run(ClusterSettings(replicas=3, seed=2), 100, Faults(), trace_dir=tmp_path)
    path = tmp_path / "a3.jsonl"
    good = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(good[:4]) + b'{"kind": "\xff\xfe"}\n' + b"".join(good[4:]))
    code, doc = _check(tmp_path)
    assert code == 2 and doc["error"].startswith(f"{path}:5:11: not UTF-8 (byte 0xff)")
    longest = max(len(line) for trace in tmp_path.iterdir() for line in trace.read_bytes().splitlines(keepends=True))
    monkeypatch.setattr(tracecheck, "MAX_LINE", longest)  # a longer line is refused, not read whole
    path.write_bytes(b"".join(good[:1]) + b" " * longest + b"\n")
    code, doc = _check(tmp_path)
    assert code == 2 and doc["error"].startswith(f"{path}:2: a line of more than {longest:,} bytes")


def test_paxiom_sim_writes_traces_that_trace_check_judges(tmp_path: Path) -> None:
    sim = ["sim", "--replicas", "3", "--seed", "5", "--steps", "300", "--trace-dir", str(tmp_path / "ok"), "--json"]
    assert CliRunner().invoke(main, sim).exit_code == 0
    code, doc = _check(tmp_path / "ok", "--kv-reference")
    assert code == 0 and doc["records"] > 300
    hunt = ["sim", "--mutant", "phase1-quorum-too-small", "--shrink-seconds", "1", "--json"]
    hunt += ["--trace-out", str(tmp_path / "t.json"), "--trace-dir", str(tmp_path / "bad")]
    found = CliRunner().invoke(main, hunt)
    assert found.exit_code == 1
    code, doc = _check(tmp_path / "bad")
    assert code == 1 and doc["check"] == json.loads(found.stdout)["check"]
