"""The out-of-process protocol: a Node.js acceptor conforms, a real bug behind a real SIGKILL is caught,
and a process that crashes, hangs or writes garbage is a clean finding, never a crash of the suite."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from paxiom.conform.search import check, replay
from paxiom.conform.targets import ProcessTarget
from paxiom.conform.world import Step

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "conformance"
PREPARE = [Step("prepare", (0, 1))]


def process(tmp_path: Path, *argv: str, timeout: float = 5.0) -> ProcessTarget:
    return ProcessTarget(list(argv), tmp_path, timeout)


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_nodejs_acceptor_conforms(tmp_path: Path) -> None:
    report = check(process(tmp_path, "node", str(EXAMPLES / "acceptor.js")), "acceptor", max_examples=12, seed=3)
    assert report.conforms, [f.title for f in report.findings]
    assert report.judged["promise"] > 0 and report.judged["accepted"] > 0


def test_a_lost_vote_is_caught_across_a_real_sigkill(tmp_path: Path) -> None:
    host = process(tmp_path, sys.executable, "-m", "paxiom.conform.host", f"{EXAMPLES / 'paxiom_core.py'}:Core")
    steps = [Step("accept", (0, 0, 0)), Step("finish")]  # finish: kill, restart, probe
    report = replay(host, "acceptor", 0, steps, {"mutant": "vote-not-persisted"})
    assert [f.rule for f in report.findings] == ["promise_reports_last_vote"]
    assert replay(host, "acceptor", 0, steps, {}).conforms


SCRIPTS = {
    "crash": ("import sys; sys.stdin.readline(); print('boom', file=sys.stderr); sys.exit(3)", "exited with status 3"),
    "timeout": ("import sys, time; sys.stdin.readline(); time.sleep(30)", "no complete answer"),
    "protocol": ("import sys; sys.stdin.readline(); print('hello', flush=True); sys.stdin.readline()", "not JSON"),
}


@pytest.mark.parametrize("kind", sorted(SCRIPTS))
def test_misbehaving_processes_are_findings(tmp_path: Path, kind: str) -> None:
    script, words = SCRIPTS[kind]
    report = replay(process(tmp_path, sys.executable, "-c", script, timeout=0.5), "acceptor", 0, PREPARE, {})
    [finding] = report.findings
    assert finding.rule == kind and words in finding.reason
    if kind == "crash":
        assert "boom" in finding.reason, "the process's stderr tail belongs in the finding"


def test_garbage_fields_name_what_is_wrong(tmp_path: Path) -> None:
    bad = '{"type": "promise", "from": "a1", "to": "p1", "ballot": [-1, "p1"], "last": null}'
    script = (
        "import sys, json\n"
        "for line in sys.stdin:\n"
        "    seq = json.loads(line)['seq']\n"
        f"    if seq > 1: print({bad!r})\n"
        "    print(json.dumps({'type': 'done', 'seq': seq}), flush=True)\n"
    )
    report = replay(process(tmp_path, sys.executable, "-c", script), "acceptor", 0, PREPARE, {})
    [finding] = report.findings
    assert finding.rule == "protocol" and "ballot [-1, 'p1']" in finding.reason
