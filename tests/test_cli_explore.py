"""`paxiom explore` end to end: exit codes, one JSON document with --json, one-line errors on bad input."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from paxiom.cli.main import main


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_safe_model_exits_zero_with_counts() -> None:
    code, out, _ = run("explore", "--max-ballot", "1", "--json")
    doc = json.loads(out)
    assert code == 0
    assert doc["violation"] is None and doc["complete"] is True
    assert doc["quorum_intersection"]["holds"] is True
    assert doc["distinct_states"] > 1000 and doc["depth"] > 5
    assert set(doc) >= {"variant", "distinct_states", "generated", "depth", "seconds", "violation"}


def test_unsafe_quorums_exit_one_with_shortest_trace(tmp_path: Path) -> None:
    out_file = tmp_path / "t.json"
    code, out, _ = run("explore", "-b", "1", "--q1", "1", "--invariant", "agreement", "--json",
                       "--trace-out", str(out_file))
    doc = json.loads(out)
    assert code == 1
    assert doc["violation"]["invariant"] == "agreement"
    assert doc["violation"]["trace"][-1]["state"]["chosen"] == ["v1", "v2"]
    assert doc["quorum_intersection"]["holds"] is False
    code, out, _ = run("explore", "--replay", str(out_file), "--json")
    replayed = json.loads(out)
    assert code == 1 and "agreement" in {v["invariant"] for v in replayed["violations"]}


def test_human_output_shows_the_trace() -> None:
    code, out, _ = run("explore", "-b", "1", "--q1", "1", "--invariant", "agreement")
    assert code == 1
    assert "VIOLATION of agreement" in out and "Phase2b(a=" in out and "maxBal[a" in out


def test_bad_input_is_one_line_and_exit_two(tmp_path: Path) -> None:
    for args in (["--invariant", "nope"], ["--acceptors", "0"], ["--q1", "9"], ["--variant", "raft"],
                 ["--variant", "fastpaxos", "--fast-ballots", "x"], ["--variant", "fastpaxos", "--fast-ballots", "5"],
                 ["--replay", str(tmp_path / "missing.json")]):
        code, out, err = run("explore", *args)
        assert code == 2, args
        assert "Traceback" not in out + err
    code, out, err = run("explore", "--invariant", "nope", "--json")
    assert code == 2 and "unknown invariant" in json.loads(out)["error"]
    assert len(err.strip().splitlines()) == 1


def test_each_variant_runs_from_the_command_line() -> None:
    for args in (["--variant", "multipaxos", "-b", "0", "--slots", "2"],
                 ["--variant", "fastpaxos", "-b", "1", "--fast-quorum", "3"]):
        code, out, _ = run("explore", *args, "--json")
        assert code == 0, out
        assert json.loads(out)["violation"] is None


def test_cluster_files_plug_into_the_explorer(tmp_path: Path) -> None:
    cluster = tmp_path / "c.toml"
    cluster.write_text('nodes = ["x", "y", "z"]\n[quorums]\nphase1 = "any(x, y, z)"\nphase2 = "all(x, y, z)"\n')
    code, out, _ = run("explore", "--quorums", str(cluster), "-b", "1", "--json")
    assert code == 0, out
    assert json.loads(out)["constants"]["phase1"] == [["x"], ["y"], ["z"]]
    cluster.write_text('nodes = ["x", "y", "z"]\n[quorums]\nphase1 = "any(x, y)"\nphase2 = "any(y, z)"\n')
    code, out, _ = run("explore", "--quorums", str(cluster), "-b", "1", "--invariant", "agreement", "--json")
    assert code == 1 and json.loads(out)["violation"]["invariant"] == "agreement"


def test_large_clusters_are_refused_not_hung(tmp_path: Path) -> None:
    cluster = tmp_path / "big.toml"
    nodes = ", ".join(f'"n{i}"' for i in range(30))
    cluster.write_text(f'nodes = [{nodes}]\n[zones]\neveryone = [{nodes}]\n[quorums]\nphase1 = "majority(everyone)"\n')
    for extra in ([], ["--max-states", "10"]):
        code, _, err = run("explore", "--quorums", str(cluster), *extra)
        assert code == 2 and "too many to explore" in err


def test_usage_errors_under_json_print_one_document() -> None:
    code, out, err = run("explore", "--variant", "raft", "--json")
    assert code == 2
    assert "raft" in json.loads(out)["error"] and "paxiom explore --help" in err
    assert len(err.strip().splitlines()) == 1
