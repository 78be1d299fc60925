"""Issue 14, the conformance suite against hostile targets and bad options: a verdict or a one-line error."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from paxiom.cli.main import main
from paxiom.conform import Accepted, Adapter, Input, Node, Output, Prepare
from paxiom.conform.schedules import CONFIGS

HOSTILE = str(Path(__file__).resolve().parent / "hostile_target.py")
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "conformance"
CORE = f"{EXAMPLES / 'paxiom_core.py'}:Core"


def conform(*args: str) -> tuple[int, dict[str, object], str]:
    result = CliRunner().invoke(main, ["conform", "--json", *args])
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    doc = json.loads(result.stdout, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    return result.exit_code, doc, result.stderr


@pytest.mark.parametrize("mode", ["digits", "deep", "long", "bytes"])
def test_a_hostile_line_is_a_protocol_finding_not_a_crash_of_the_suite(tmp_path: Path, mode: str) -> None:
    code, doc, _ = conform("--max-examples", "5", "--max-findings", "1", "--out", str(tmp_path),
                           "--", sys.executable, "-S", HOSTILE, mode)  # fmt: skip
    findings = doc["findings"]
    assert code == 1 and isinstance(findings, list) and findings[0]["rule"] == "protocol"
    assert len(json.dumps(doc)) < 200_000, "the offending line is shown shortened"
    assert any("malformed" in line for line in findings[0]["schedule"])


def test_a_malformed_message_is_shown_in_the_schedule(tmp_path: Path) -> None:
    code, doc, _ = conform("--max-examples", "5", "--max-findings", "1", "--out", str(tmp_path),
                           "--", sys.executable, "-S", HOSTILE, "null-value")  # fmt: skip
    finding = doc["findings"][0]  # type: ignore[index]
    assert code == 1 and finding["rule"] == "protocol" and "'value' must be a string" in finding["reason"]
    assert any("malformed" in line and "'value': None" in line for line in finding["schedule"])


def test_a_target_that_never_answers_init_stops_the_search_at_once(tmp_path: Path) -> None:
    """203 schedules x the timeout used to be spent on a finding known after the first."""
    started = time.monotonic()
    code, doc, err = conform("--timeout", "0.3", "--out", str(tmp_path), "--", sys.executable, "-S", HOSTILE, "silent")
    assert code == 1 and time.monotonic() - started < 10
    assert doc["findings"][0]["rule"] == "timeout" and "could not start" in str(doc["stopped"])  # type: ignore[index]
    assert doc["examples_run"] == len(CONFIGS), "one start per quorum system, then nothing more"
    assert "1 finding(s): timeout" in err, "a summary line on stderr under --json"


@pytest.mark.parametrize("timeout", ["nan", "inf", "-inf", "0", "1e308"])
def test_conform_timeout_must_be_finite_a_usage_error(timeout: str) -> None:
    code, doc, err = conform("--timeout", timeout, "--adapter", CORE)
    assert code == 2 and "--timeout" in str(doc["error"]) and len(err.strip().splitlines()) == 1


def test_an_unknown_mutant_is_a_usage_error_not_a_crash_of_every_node() -> None:
    code, doc, err = conform("--adapter", CORE, "--option", "mutant=no-such-bug")
    assert code == 2 and "no-such-bug" in str(doc["error"]) and "promise-not-persisted" in str(doc["error"])
    assert len(err.strip().splitlines()) == 1


class Chatty(Adapter):
    """An acceptor whose library prints to stdout, as libraries do (and never answers)."""

    roles = frozenset({"acceptor"})

    def handle(self, msg: Input) -> list[Output]:
        print("library: got", msg)
        return []


class NullVoter(Adapter):
    roles = frozenset({"acceptor"})

    def handle(self, msg: Input) -> list[Output]:
        if isinstance(msg, Prepare):
            return [Accepted(self.node.id, msg.src, msg.ballot, None)]  # type: ignore[arg-type]
        return []


class MajorityOnly(Adapter):
    """A library that cannot express Flexible quorums refuses them at start, as the docs advise."""

    roles = frozenset({"acceptor"})

    def __init__(self, node: Node) -> None:
        super().__init__(node)
        if node.phase1 != node.phase2:
            raise ValueError("this library takes one quorum size")

    def handle(self, msg: Input) -> list[Output]:
        return []


def test_a_target_that_starts_only_with_majorities_is_still_searched(tmp_path: Path) -> None:
    code, doc, _ = conform("--adapter", f"{__file__}:MajorityOnly", "--max-examples", "30", "--out", str(tmp_path))
    assert code == 1 and doc["stopped"] is None and int(str(doc["examples_run"])) > len(CONFIGS)
    assert {f["rule"] for f in doc["findings"]} >= {"crash"}  # type: ignore[attr-defined]


def test_a_library_printing_to_stdout_does_not_break_json(tmp_path: Path) -> None:
    code, doc, err = conform("--adapter", f"{__file__}:Chatty", "--max-examples", "3", "--out", str(tmp_path))
    assert code == 1 and "library: got" in err and doc["findings"], "judged (it never answers), and said on stderr"


def test_an_adapter_emitting_value_none_shows_the_message(tmp_path: Path) -> None:
    code, doc, _ = conform("--adapter", f"{__file__}:NullVoter", "--max-examples", "5", "--out", str(tmp_path))
    finding = doc["findings"][0]  # type: ignore[index]
    assert code == 1 and finding["rule"] == "protocol"
    assert any("malformed" in line and "'value': None" in line for line in finding["schedule"])


def test_a_replay_that_no_longer_fails_says_so_and_exits_0(tmp_path: Path) -> None:
    code, doc, _ = conform("--adapter", CORE, "--role", "acceptor", "--option", "mutant=vote-not-persisted",
                           "--max-examples", "200", "--max-findings", "1", "--out", str(tmp_path))  # fmt: skip
    assert code == 1
    replay_file = doc["findings"][0]["replay_file"]  # type: ignore[index]
    data = json.loads(Path(replay_file).read_text())
    data["options"] = {}  # the bug fixed
    Path(replay_file).write_text(json.dumps(data))
    result = CliRunner().invoke(main, ["conform", "--adapter", CORE, "--replay", replay_file, "--out", str(tmp_path)])
    assert result.exit_code == 0 and "no longer fails" in result.stdout and "raise --max-examples" not in result.stdout
    assert data["rule"] in result.stdout


def test_junit_goes_into_missing_folders(tmp_path: Path) -> None:
    junit = tmp_path / "a" / "b" / "junit.xml"
    code, _, _ = conform("--adapter", CORE, "--max-examples", "20", "--junit", str(junit), "--out", str(tmp_path))
    assert code in (0, 1) and junit.is_file()
