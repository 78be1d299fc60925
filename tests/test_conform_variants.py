"""Conformance beyond single-decree Paxos: Multi-Paxos and Fast Paxos acceptors, and Fast Paxos learners,
over paxiom-conform/2.

The reference acceptor and learner (`examples/conformance/acceptor_v2.py`, `learner_v2.py`, stdlib only)
conform, in process and as processes; each of their mutants is caught by the spec rule its bug breaks, with
a short schedule; and version 1 is still what single-decree runs speak.
"""

from __future__ import annotations

import importlib
import json
import re
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from paxiom.cli.main import main
from paxiom.conform.messages import (
    PROTOCOL,
    PROTOCOL_2,
    Accept,
    AcceptAny,
    Accepted,
    Ballot,
    Decision,
    Garbage,
    Promise,
    SlotVote,
    Wire,
    from_json,
    to_json,
)
from paxiom.conform.report import load_replay
from paxiom.conform.schedules import setup_for
from paxiom.conform.search import check, replay
from paxiom.conform.suites import SUITES
from paxiom.conform.targets import ProcessTarget, load_adapter
from paxiom.conform.world import Step
from paxiom.errors import PaxiomError
from paxiom.variants import VARIANTS

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "conformance"
IN_PROCESS = f"{EXAMPLES / 'acceptor_v2_inprocess.py'}:InProcess"
PROCESS = [sys.executable, str(EXAMPLES / "acceptor_v2.py")]
MUTANTS = {
    "promise-per-slot": ("multipaxos", "acceptor", "promise_covers_all_slots"),
    "forget-on-catch-up": ("multipaxos", "acceptor", "promise_reports_last_vote"),
    "second-fast-vote": ("fastpaxos", "acceptor", "one_vote_per_ballot"),
    "fast-vote-below-promise": ("fastpaxos", "acceptor", "accept_at_or_above_promise"),
    "classic-quorum-at-fast-ballot": ("fastpaxos", "learner", "learner_quorum"),
    "recover-last-slot-only": ("multipaxos", "proposer", "highest_vote"),
    "count-across-slots": ("multipaxos", "learner", "learner_quorum"),
    "highest-vote-after-collision": ("fastpaxos", "proposer", "recovery"),
    "any-despite-votes": ("fastpaxos", "proposer", "recovery"),
}
NODES, PROPOSERS = ("a1", "a2", "a3", "p1", "p2", "l1"), ("p1", "p2")
MULTI = Wire("multipaxos", 3)


def test_the_suites_are_variants_of_the_registry() -> None:
    assert set(SUITES) <= set(VARIANTS) and {"multipaxos", "fastpaxos"} <= set(SUITES)


@pytest.mark.parametrize("variant", ["paxos", "multipaxos", "fastpaxos"])
def test_the_reference_acceptor_conforms_in_process(variant: str) -> None:
    report = check(load_adapter(IN_PROCESS), "acceptor", max_examples=150, seed=2, variant=variant, max_findings=1)
    assert report.conforms, [f.title for f in report.findings]
    assert report.judged["promise"] > 0 and report.judged["accepted"] > 0


@pytest.mark.parametrize("variant", ["multipaxos", "fastpaxos"])
@pytest.mark.parametrize("role", ["proposer", "learner"])
def test_the_reference_leaders_and_learners_conform_and_decide(variant: str, role: str) -> None:
    report = check(load_adapter(IN_PROCESS), role, max_examples=150, seed=1, variant=variant, max_findings=1)
    assert report.conforms, [f.title for f in report.findings]
    assert report.judged["decision"] > 0
    if role == "proposer":
        assert report.judged["accept"] > 0 and (variant == "multipaxos" or report.judged["any"] > 0)


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_every_mutant_is_caught_with_a_short_readable_schedule(mutant: str) -> None:
    variant, role, rule = MUTANTS[mutant]
    report = check(
        load_adapter(IN_PROCESS), role, max_examples=200, seed=0, options={"mutant": mutant},
        variant=variant, max_findings=1,
    )  # fmt: skip
    assert [f.rule for f in report.findings] == [rule], [f.title for f in report.findings]
    [finding] = report.findings
    assert len(finding.steps) <= 5, finding.log
    words = {"multipaxos": "slot", "fastpaxos": "any"}[variant]
    assert any(words in line for line in finding.log), finding.log
    doc = report.to_json()
    assert doc["protocol"] == PROTOCOL_2 and doc["variant"] == variant
    for module, name in re.findall(r"spec\.(\w+)\.(\w+)", doc["findings"][0]["judged_by"]):
        assert hasattr(importlib.import_module(f"paxiom.spec.{module}"), name), (module, name)
        own = hasattr(importlib.import_module(f"paxiom.spec.{variant}"), name)
        assert module in (variant, "acceptor", "voting") or not own, "named after the variant's own spec"


def test_version_2_messages_round_trip_and_garbage_is_named() -> None:
    b = Ballot(2, "p1")
    promise = Promise("a1", "p1", b, None, (SlotVote(0, Ballot(1, "p2"), "v1"), SlotVote(2, b, "v3")))
    for msg in (promise, Accept("p1", "a1", b, "v1", 2), Accepted("a1", "l1", b, "v2", 0), Decision("l1", "v1", 1)):
        assert from_json(to_json(msg), NODES, PROPOSERS, MULTI) == msg
    fast = Wire("fastpaxos")
    assert from_json(to_json(AcceptAny("p1", "a1", b)), NODES, PROPOSERS, fast) == AcceptAny("p1", "a1", b)
    accept = to_json(Accept("p1", "a1", b, "v1", 2))
    bad = [
        ({**accept, "slot": 3}, MULTI, "not a slot in 0..2"),
        ({k: v for k, v in accept.items() if k != "slot"}, MULTI, "lacks 'slot'"),
        ({**to_json(promise), "votes": [{"slot": 0, "ballot": [1, "p1"], "value": "v1"}] * 2}, MULTI, "slot twice"),
        (to_json(AcceptAny("p1", "a1", b)), MULTI, "unknown message type 'any'"),
    ]
    for doc, wire, words in bad:
        with pytest.raises(Garbage, match=words):
            from_json(doc, NODES, PROPOSERS, wire)


def test_init_names_the_protocol_and_the_variant_constants(tmp_path: Path) -> None:
    paxos = setup_for("paxos", "acceptor", 0, {}).node("a1", tmp_path, 0).init_json()
    assert paxos["protocol"] == PROTOCOL and "variant" not in paxos, "single-decree runs are version 1, unchanged"
    multi = setup_for("multipaxos", "acceptor", 0, {}).node("a1", tmp_path, 0).init_json()
    assert (multi["protocol"], multi["variant"], multi["slots"]) == (PROTOCOL_2, "multipaxos", 3)
    fast = setup_for("fastpaxos", "acceptor", 0, {}).node("a1", tmp_path, 0).init_json()
    assert fast["quorums"]["fast"]["size"] == 3 and fast["fast_rounds"]


def test_an_unjudged_variant_or_role_is_a_usage_error() -> None:
    target = load_adapter(IN_PROCESS)
    with pytest.raises(PaxiomError, match="judges paxos, multipaxos, fastpaxos, reconfig, cheap, not nosuch"):
        check(target, "acceptor", max_examples=1, seed=0, variant="nosuch")
    with pytest.raises(PaxiomError, match="not group"):
        check(target, "group", max_examples=1, seed=0, variant="multipaxos")


@pytest.mark.parametrize("variant", ["paxos", "multipaxos", "fastpaxos"])
def test_the_reference_acceptor_conforms_as_a_process(tmp_path: Path, variant: str) -> None:
    """Version 1 (paxos) and version 2, through real processes: a few schedules, two starts each."""
    report = check(ProcessTarget(PROCESS, tmp_path), "acceptor", max_examples=6, seed=1, variant=variant)
    assert report.conforms, [f.title for f in report.findings]


def test_a_forgotten_slot_is_caught_across_a_real_sigkill(tmp_path: Path) -> None:
    steps = [Step("accept", (0, 0, 0, 0)), Step("accept", (0, 0, 2, 0)), Step("finish")]
    target = ProcessTarget(PROCESS, tmp_path)
    report = replay(target, "acceptor", 0, steps, {"mutant": "forget-on-catch-up"}, variant="multipaxos")
    assert [f.rule for f in report.findings] == ["promise_reports_last_vote"]
    assert "slot 0" in report.findings[0].reason
    assert replay(target, "acceptor", 0, steps, {}, variant="multipaxos").conforms


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_a_version_1_acceptor_under_version_2_is_a_protocol_finding(tmp_path: Path) -> None:
    """acceptor.js speaks version 1: a Multi-Paxos run gets its promise without per-slot votes, named."""
    target = ProcessTarget(["node", str(EXAMPLES / "acceptor.js")], tmp_path)
    report = replay(target, "acceptor", 0, [Step("prepare", (0, 1)), Step("finish")], {}, variant="multipaxos")
    [finding] = report.findings
    assert finding.rule == "protocol" and "lacks 'votes'" in finding.reason


def run(*args: str) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(main, ["conform", "--json", *args])
    return result.exit_code, json.loads(result.stdout)


def test_the_cli_judges_a_variant_and_replays_its_finding(tmp_path: Path) -> None:
    code, doc = run("--variant", "fastpaxos", "--adapter", IN_PROCESS, "--max-examples", "60", "--out", str(tmp_path))
    assert code == 0 and doc["conforms"] is True and doc["variant"] == "fastpaxos"
    code, doc = run(
        "--variant", "fastpaxos", "--adapter", IN_PROCESS, "--option", "mutant=second-fast-vote",
        "--max-examples", "100", "--max-findings", "1", "--out", str(tmp_path / "findings"),
    )  # fmt: skip
    [finding] = doc["findings"]  # type: ignore[misc]
    assert code == 1 and finding["rule"] == "one_vote_per_ballot"
    recorded = load_replay(Path(finding["replay_file"]))
    assert recorded.variant == "fastpaxos" and recorded.rule == "one_vote_per_ballot"
    code, doc = run("--adapter", IN_PROCESS, "--replay", finding["replay_file"], "--out", str(tmp_path / "again"))
    assert code == 1 and doc["variant"] == "fastpaxos" and doc["findings"][0]["rule"] == "one_vote_per_ballot"  # type: ignore[index]
    for args in (["--variant", "nosuch"], ["--variant", "multipaxos", "--role", "group"]):
        code, doc = run("--adapter", IN_PROCESS, "--max-examples", "1", "--out", str(tmp_path), *args)
        assert code == 2 and list(doc) == ["error"], args


def test_the_fast_learner_process_decides_only_on_a_fast_quorum_at_a_fast_ballot(tmp_path: Path) -> None:
    """A fast ballot voted v1 by two of three acceptors (a classic quorum, not a fast one), every vote
    delivered: the mutant decides, the reference does not."""
    target = ProcessTarget([sys.executable, str(EXAMPLES / "learner_v2.py")], tmp_path)
    steps = [Step("rival_fast", (0, 0, 0b011, 0, 0, 0)), Step("settle", (0,)), Step("finish")]
    mutant = {"mutant": "classic-quorum-at-fast-ballot"}
    report = replay(target, "learner", 0, steps, mutant, variant="fastpaxos")
    assert [f.rule for f in report.findings] == ["learner_quorum"] and "fast quorum" in report.findings[0].reason
    assert replay(target, "learner", 0, steps, {}, variant="fastpaxos").conforms


def test_a_coordinator_recovering_wrongly_after_a_collision_is_caught_as_a_process(tmp_path: Path) -> None:
    """Four acceptors, fast quorums of 3: a fast ballot where a1, a2 vote v2 and a3 v1 (a4 nothing); the
    coordinator's phase 1 hears a1, a2, a3. With the fast quorum {a1, a2, a4}, v2 may have been chosen, so
    the recovery rule forces v2; the mutant proposes the smallest value at the highest ballot, v1."""
    target = ProcessTarget([sys.executable, str(EXAMPLES / "proposer_v2.py")], tmp_path)
    steps = [Step("rival_fast", (0, 0, 0b0111, 0b0100, 1, 2)), Step("propose", (0, 0)), Step("finish", (0, 0, 0))]
    mutant = {"mutant": "highest-vote-after-collision"}
    report = replay(target, "proposer", 1, steps, mutant, variant="fastpaxos")
    assert [f.rule for f in report.findings] == ["recovery"] and "allow only v2" in report.findings[0].reason
    assert replay(target, "proposer", 1, steps, {}, variant="fastpaxos").conforms


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_nodejs_log_acceptor_conforms_and_refuses_version_1(tmp_path: Path) -> None:
    """A second language over protocol 2; the single-decree suite's version-1 init it refuses, cleanly."""
    target = ProcessTarget(["node", str(EXAMPLES / "log_acceptor.js")], tmp_path)
    report = check(target, "acceptor", max_examples=6, seed=1, variant="multipaxos", max_findings=1)
    assert report.conforms and report.judged["promise"] > 0, [f.title for f in report.findings]
    refused = check(target, "acceptor", max_examples=2, seed=1, variant="paxos", max_findings=1)
    [finding] = refused.findings
    assert finding.rule == "protocol" and "unsupported" in finding.reason and refused.stopped
