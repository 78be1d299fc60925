"""composable-paxos 1.0.0 is not conformant: the suite must find its problems and report them cleanly.

As published it raises TypeError on Python 3 in every role (comparing a ProposalID with None); with the
sentinel workaround, its acceptor re-joins a ballot it already promised (`>=` where `>` is needed) and its
proposer reuses its ballots after a restart (it persists nothing). Its learner then conforms.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from paxiom.conform.search import check
from paxiom.conform.targets import load_adapter

pytest.importorskip("composable_paxos")

ADAPTER = Path(__file__).resolve().parents[1] / "examples" / "conformance" / "composable.py"


@pytest.mark.parametrize("role", ["acceptor", "proposer", "learner"])
def test_as_published_it_crashes_on_python3_and_the_suite_says_where(role: str) -> None:
    report = check(load_adapter(f"{ADAPTER}:Composable"), role, max_examples=40, seed=0, max_findings=1)
    [finding] = report.findings
    assert finding.rule == "crash"
    assert "TypeError" in finding.reason and "NoneType" in finding.reason and "composable_paxos.py" in finding.reason
    assert len(finding.steps) <= 3


@pytest.mark.parametrize(("role", "rule"), [("acceptor", "promise_above_promise"), ("proposer", "ballot_increasing")])
def test_behind_the_typeerrors_it_breaks_protocol_rules(role: str, rule: str) -> None:
    report = check(load_adapter(f"{ADAPTER}:ComposablePy3"), role, max_examples=100, seed=0, max_findings=1)
    assert [f.rule for f in report.findings] == [rule]


def test_its_learner_conforms_once_past_the_typeerror() -> None:
    report = check(load_adapter(f"{ADAPTER}:ComposablePy3"), "learner", max_examples=100, seed=0, max_findings=1)
    assert report.conforms and report.judged["decision"] > 0
