"""Issue 14, options: every option value gets a verdict or a one-line error, and no option makes unbounded work.

Each test is one defect found by hand or by the fuzz campaign (tests/test_hardening_options_fuzz.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from paxiom.cli.explore_cmd import estimated_states
from paxiom.cli.main import main


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


def one_line_error(code: int, out: str, err: str, *words: str) -> dict[str, str]:
    """Exit 2, one line on stderr naming the problem, one strict JSON document on stdout."""
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    doc: dict[str, str] = json.loads(out, parse_constant=lambda c: pytest.fail(f"not JSON: {c}"))
    for word in words:
        assert word in doc["error"] and word in err
    return doc


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--acceptors", "1000000000"], "too many to explore"),
        (["--acceptors", "1000000000", "--max-states", "10"], "too many to explore"),
        (["--values", "1000000000"], "--values"),
        (["--max-ballot", "1000000000"], "--max-ballot"),
        (["--slots", "1000000000", "--variant", "multipaxos"], "--slots"),
        (["--acceptors", "6", "--max-ballot", "2"], "paxiom tla export"),
        (["--acceptors", "6", "--max-ballot", "2", "--max-states", str(10**30)], "paxiom tla export"),
        (["--q1", "0"], "--q1"),
        (["--q2", "-1"], "--q2"),
        (["--variant", "fastpaxos", "--fast-quorum", "0"], "--fast-quorum"),
        (["--max-states", "0"], "--max-states"),
        (["--max-states", "-1"], "--max-states"),
        (["--max-memory", "0"], "--max-memory"),
    ],
)
def test_explore_refuses_options_that_mean_something_else_or_cannot_finish(args: list[str], named: str) -> None:
    one_line_error(*run("explore", *args, "--json"), named)


def test_a_budget_that_stops_exploration_is_incomplete_never_holds() -> None:
    code, out, _ = run("explore", "--max-states", "2", "--json")
    doc = json.loads(out)
    assert code == 1 and doc["verdict"] == "incomplete" and doc["stopped"] == "max_states"
    assert doc["complete"] is False and doc["violation"] is None
    code, out, _ = run("explore", "--max-states", "2")
    assert code == 1 and "INCOMPLETE" in out and "No violation" not in out


PEAK_RSS = """import resource, sys
from paxiom.cli.main import main
try:
    main(sys.argv[1:])
finally:
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def peak_kib(*args: str) -> tuple[int, dict[str, object], int]:
    """Run the CLI in a fresh process (in this one, freed heap would hide growth): exit, JSON, peak RSS."""
    done = subprocess.run([sys.executable, "-c", PEAK_RSS, *args], capture_output=True, text=True, timeout=300)
    return done.returncode, json.loads(done.stdout), int(done.stderr.split()[-1])


def test_memory_is_bounded_while_exploring() -> None:
    """3 acceptors, ballots 0..2 is 185,369 states (~250 MB); a 32 MB budget stops it, incomplete, having
    grown by not much more than the budget over a trivial run's footprint."""
    code, doc, bounded = peak_kib("explore", "--max-ballot", "2", "--max-memory", "32", "--json")
    assert code == 1 and doc["verdict"] == "incomplete" and doc["stopped"] == "max_memory"
    _, _, baseline = peak_kib("explore", "--max-ballot", "0", "--json")
    assert (bounded - baseline) * 1024 < 2 * 32 * 2**20, (bounded, baseline)


@pytest.mark.parametrize(
    ("constants", "measured"),
    [(("paxos", 3, 2, 1, 1), 3_921), (("paxos", 3, 2, 2, 1), 185_369), (("paxos", 4, 2, 1, 1), 20_609),
     (("paxos", 3, 1, 2, 1), 68_921), (("fastpaxos", 4, 2, 1, 1), 70_694), (("multipaxos", 2, 2, 1, 2), 3_913)],
)  # fmt: skip
def test_the_estimate_errs_high_but_within_reason(constants: tuple[str, int, int, int, int], measured: int) -> None:
    """Refusing up front is only fair if the estimate never undercounts what finishes (measured counts)."""
    assert measured <= estimated_states(*constants) <= 100 * measured


def test_the_default_model_is_still_explored_completely() -> None:
    code, out, _ = run("explore", "--max-ballot", "1", "--json")
    assert code == 0 and json.loads(out)["verdict"] == "holds"


@pytest.mark.parametrize("timeout", ["nan", "inf", "-inf", "1e308", "0", "-1"])
def test_prove_timeout_must_be_a_finite_number_of_seconds(timeout: str) -> None:
    one_line_error(*run("prove", "--variant", "paxos", "--timeout", timeout, "--json"), "--timeout")


def test_click_usage_errors_are_one_line_naming_the_help() -> None:
    for args in (
        ["explore", "--nope"],
        ["explore", "--acceptors"],
        ["explore", "-n", "x"],
        ["nope"],
        ["tla", "check", "--workers", "0"],
        ["prove", "--variant", "raft"],
    ):
        code, out, err = run(*args, "--json")
        one_line_error(code, out, err, "--help")


def test_a_trace_file_goes_into_missing_folders(tmp_path: Path) -> None:
    out_file = tmp_path / "new" / "deeper" / "t.json"
    code, _, _ = run("explore", "-b", "1", "--q1", "1", "--invariant", "agreement", "--trace-out", str(out_file))
    assert code == 1 and out_file.is_file()


def test_tla_check_takes_the_module_and_finds_its_config() -> None:
    from paxiom.cli.tla_cmd import _configs
    from paxiom.tlc.models import TLA_DIR

    assert _configs((TLA_DIR / "MCPaxos.tla", TLA_DIR / "MCPaxos.cfg")) == [TLA_DIR / "MCPaxos.cfg"] * 2
    code, out, err = run("tla", "check", str(TLA_DIR / "Paxos.tla"), "--json")
    one_line_error(code, out, err, "no TLC config Paxos.cfg")


def test_one_model_is_not_all_1_models() -> None:
    from paxiom.cli.output import count

    assert (count(1, "model"), count(7, "model"), count(1_000, "model")) == ("1 model", "7 models", "1,000 models")


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--replicas", "21"], "paxiom quorum check"),
        (["--replicas", "10000"], "limit 20"),
        (["--replicas", "0"], "--replicas"),
        (["--q1", "0"], "--q1"),
        (["--q2", "-3"], "--q2"),
        (["--steps", "0"], "--steps"),
        (["--shrink-seconds", "nan"], "--shrink-seconds"),
        (["--mutant", "phase1-quorum-too-small", "--seed", "3"], "--seed does not apply"),
    ],
)
def test_sim_refuses_options_it_cannot_honour(args: list[str], named: str) -> None:
    one_line_error(*run("sim", *args, "--json"), named)


def test_sim_writes_no_trace_into_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    monkeypatch.chdir(tmp_path)
    code, out, _ = run("sim", "--mutant", "phase1-quorum-too-small", "--shrink-seconds", "0", "--json")
    trace = Path(json.loads(out)["trace"])
    assert code == 1 and trace.is_file() and trace.is_relative_to(tempfile.gettempdir())
    assert list(tmp_path.iterdir()) == []


def test_sim_steps_name_replicas_as_the_report_does() -> None:
    from paxiom.cli.trace_view import sim_step_words

    assert sim_step_words({"action": "crash", "replica": 3}) == "action=crash replica=a4"
    assert sim_step_words({"action": "partition", "side": [0, 2]}) == "action=partition side=a1,a3"


def test_a_group_without_its_command_shows_the_help() -> None:
    for args in ([], ["tla"], ["quorum"]):
        code, out, _ = run(*args)
        assert code == 0 and out.startswith("Usage: paxiom") and "Commands:" in out


@pytest.mark.parametrize(
    ("args", "named"),
    [(["--max-ballot", str(10**20)], "--max-ballot"), (["--slots", "1000000000"], "--slots"),
     (["--values", ",".join(f"v{i}" for i in range(1000))], "limit 6")],
)  # fmt: skip
def test_tla_export_refuses_models_tlc_cannot_enumerate(args: list[str], named: str, tmp_path: Path) -> None:
    cluster = Path(__file__).resolve().parents[1] / "examples" / "quorums" / "etcd-5.toml"
    one_line_error(*run("tla", "export", str(cluster), "--out", str(tmp_path / "m"), *args, "--json"), named)
