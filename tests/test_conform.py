"""The conformance suite against paxiom's own core: it conforms in every role, and every catalogued bug that
shows in a single-decree role is caught, with a real spec rule (not a crash) and a shrunk schedule."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from paxiom.conform import Adapter, Input, Output
from paxiom.conform.report import load_replay
from paxiom.conform.search import check, replay
from paxiom.conform.targets import AdapterTarget, load_adapter
from paxiom.conform.world import Step
from paxiom.impl.mutants import MUTANTS

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "conformance"
SUITE_ROLES = ("acceptor", "proposer", "learner")
MULTI_SLOT_ONLY = {"skip-holes"}
"""Mutants whose bug needs several slots to show; the conformance suite is single-decree."""
FAILURES = {"crash", "timeout", "protocol"}


def core() -> AdapterTarget:
    return load_adapter(f"{EXAMPLES / 'paxiom_core.py'}:Core")


@pytest.mark.parametrize(("role", "examples"), [("acceptor", 150), ("proposer", 120), ("learner", 150), ("group", 30)])
def test_the_core_conforms_in_every_role(role: str, examples: int) -> None:
    report = check(core(), role, max_examples=examples, seed=1, max_findings=1)
    assert report.conforms, [f.title for f in report.findings]
    assert report.judged, "no message was judged: the run proved nothing"


APPLICABLE = sorted(n for n, m in MUTANTS.items() if m.role in SUITE_ROLES and n not in MULTI_SLOT_ONLY)


def test_the_catalogue_offers_mutants_for_every_role() -> None:
    assert {MUTANTS[n].role for n in APPLICABLE} == set(SUITE_ROLES)


@pytest.mark.parametrize("name", APPLICABLE)
def test_every_applicable_mutant_is_caught(name: str) -> None:
    role = MUTANTS[name].role
    report = check(core(), role, max_examples=1000, seed=0, options={"mutant": name}, max_findings=1)
    assert report.findings, f"{name} ({role}) went unnoticed in {report.examples} schedules"
    finding = report.findings[0]
    assert finding.rule not in FAILURES, finding.title
    assert finding.log and len(finding.steps) <= 20, "the schedule should shrink"


def test_a_replay_file_reproduces_its_finding(tmp_path: Path) -> None:
    report = check(core(), "acceptor", max_examples=100, seed=0, options={"mutant": "vote-not-persisted"})
    assert report.findings
    [path, *_] = report.write_replays(tmp_path, {"mutant": "vote-not-persisted"})
    role, config, steps, options, _, _ = load_replay(path)
    again = replay(core(), role, config, steps, options)
    assert [f.rule for f in again.findings] == [report.findings[0].rule]
    assert replay(core(), role, config, steps, {}).conforms, "without the bug the same schedule passes"


def test_reports_carry_diagram_junit_and_json(tmp_path: Path) -> None:
    report = check(core(), "acceptor", max_examples=60, seed=0, options={"mutant": "accept-below-promise"})
    finding = report.findings[0]
    diagram = finding.mermaid()
    assert diagram.startswith("sequenceDiagram") and "VIOLATION accept_at_or_above_promise" in diagram
    doc = report.to_json()
    assert doc["conforms"] is False and doc["findings"][0]["rule"] == "accept_at_or_above_promise"
    junit = tmp_path / "junit.xml"
    report.junit(junit)
    text = junit.read_text()
    assert '<testcase classname="conform.acceptor" name="accept_at_or_above_promise">' in text
    assert text.count("<failure") == len(report.findings)


def test_the_documented_minimal_adapter_conforms() -> None:
    target = load_adapter(f"{EXAMPLES / 'minimal_adapter.py'}:TinyAdapter")
    report = check(target, "acceptor", max_examples=60, seed=0, max_findings=1)
    assert report.conforms and report.judged["promise"] > 0


class Raising(Adapter):
    roles = frozenset({"acceptor"})

    def handle(self, msg: Input) -> list[Output]:
        return [self.node.acceptors[99]]  # type: ignore[list-item]  # IndexError inside the implementation


class Babbling(Adapter):
    roles = frozenset({"acceptor"})

    def handle(self, msg: Input) -> list[Output]:
        return ["promise!"]  # type: ignore[list-item]


class Sleeping(Adapter):
    roles = frozenset({"acceptor"})

    def handle(self, msg: Input) -> list[Output]:
        time.sleep(5)
        return []


@pytest.mark.parametrize(
    ("cls", "rule", "words"),
    [(Raising, "crash", "IndexError"), (Babbling, "protocol", "'promise!'"), (Sleeping, "timeout", "0.2 s")],
)
def test_in_process_failures_are_findings(cls: type[Adapter], rule: str, words: str) -> None:
    report = replay(AdapterTarget(cls, cls.__name__, timeout=0.2), "acceptor", 0, [Step("prepare", (0, 0))], {})
    [finding] = report.findings
    assert finding.rule == rule and words in finding.reason
