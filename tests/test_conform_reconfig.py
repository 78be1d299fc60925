"""Conformance of reconfiguration and Cheap Paxos (`--variant reconfig`, `--variant cheap`, paxiom-conform/2).

The reference acceptor, leader and learner (`examples/conformance/*_v2.py`) conform, in process and as
processes; each of their mutants is caught, by the per-slot rule its bug breaks (the slot's configuration,
the α-window, an auxiliary's restrictions), with a short schedule; the wire names a proposal's
configuration and a target that gets it wrong is a protocol finding; the CLI judges, reports and replays.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from paxiom.cli.main import main
from paxiom.conform.configs import ALPHA
from paxiom.conform.messages import PROTOCOL_2, Accept, Accepted, Ballot, Garbage, Wire, from_json, to_json
from paxiom.conform.report import load_replay
from paxiom.conform.rules import RULES
from paxiom.conform.schedules import setup_for
from paxiom.conform.search import check, replay
from paxiom.conform.targets import ProcessTarget, load_adapter
from paxiom.conform.world import Step

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "conformance"
IN_PROCESS = f"{EXAMPLES / 'acceptor_v2_inprocess.py'}:InProcess"
VARIANTS = ("reconfig", "cheap")
MUTANTS = {
    "votes-outside-config": ("reconfig", "acceptor", "member_votes"),
    "leader-config-early": ("reconfig", "proposer", "governing_config"),
    "old-config-quorum": ("reconfig", "proposer", "phase1_quorum"),
    "learner-initial-quorums": ("reconfig", "learner", "learner_quorum"),
    "aux-votes-commands": ("cheap", "acceptor", "auxiliary_votes"),
    "aux-forgets-votes": ("cheap", "acceptor", "promise_reports_last_vote"),
    "commands-to-auxiliary": ("cheap", "proposer", "auxiliary_only_to_retire"),
    "learner-config-early": ("cheap", "learner", "learner_quorum"),
}
NODES, PROPOSERS = ("a1", "a2", "a3", "p1", "p2", "l1"), ("p1", "p2")
SWITCHED = [Step("propose", (0, 3)), Step("settle", (0,))]
"""A client's cfg1 chosen in slot 0 by the leader under test, every message delivered."""


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("role", ["acceptor", "proposer", "learner"])
def test_the_reference_nodes_conform_and_are_judged(variant: str, role: str) -> None:
    report = check(load_adapter(IN_PROCESS), role, max_examples=150, seed=3, variant=variant, max_findings=1)
    assert report.conforms, [f.title for f in report.findings]
    wanted = {"acceptor": ("promise", "accepted"), "proposer": ("accept", "decision"), "learner": ("decision",)}
    assert all(report.judged[kind] > 0 for kind in wanted[role]), report.judged


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_every_mutant_is_caught_by_its_rule_with_a_short_schedule(mutant: str) -> None:
    variant, role, rule = MUTANTS[mutant]
    report = check(
        load_adapter(IN_PROCESS), role, max_examples=200, seed=0, options={"mutant": mutant},
        variant=variant, max_findings=1,
    )  # fmt: skip
    assert [f.rule for f in report.findings] == [rule], [f.title for f in report.findings]
    [finding] = report.findings
    assert len(finding.steps) <= 10, finding.log
    assert any("config" in line for line in finding.log), finding.log
    doc = report.to_json()
    assert doc["protocol"] == PROTOCOL_2 and doc["variant"] == variant
    for module, name in re.findall(r"spec\.(\w+)\.(\w+)", doc["findings"][0]["judged_by"]):
        assert hasattr(importlib.import_module(f"paxiom.spec.{module}"), name), (module, name)


def test_the_new_rules_belong_to_these_variants_only() -> None:
    for name in ("member_votes", "governing_config"):
        assert {v for v in ("paxos", "multipaxos", "fastpaxos", *VARIANTS) if RULES[name].applies_to(v)} == {*VARIANTS}
    for name in ("auxiliary_votes", "auxiliary_only_to_retire"):
        assert [v for v in (*VARIANTS, "multipaxos") if RULES[name].applies_to(v)] == ["cheap"]
    assert RULES["promise_reports_last_vote"].judged_in("cheap") == "spec.reconfig.phase1b"


def test_accepts_and_votes_name_a_configuration_and_garbage_is_named() -> None:
    wire, b = Wire("reconfig", 4, 3), Ballot(1, "p1")
    for msg in (Accept("p1", "a1", b, "cfg1", 0, 2), Accepted("a1", "l1", b, "v1", 3, 0)):
        assert from_json(to_json(msg), NODES, PROPOSERS, wire) == msg
    accept = to_json(Accept("p1", "a1", b, "v1", 0, 1))
    for doc, words in (
        ({k: v for k, v in accept.items() if k != "config"}, "lacks 'config'"),
        ({**accept, "config": 3}, "not a configuration in 0..2"),
        ({**accept, "config": "1"}, "not a configuration"),
        ({**accept, "slot": 4}, "not a slot in 0..3"),
    ):
        with pytest.raises(Garbage, match=words):
            from_json(doc, NODES, PROPOSERS, wire)
    assert "config" not in to_json(Accept("p1", "a1", b, "v1", 0)), "Multi-Paxos's accept is unchanged"


def test_init_gives_the_window_the_configurations_and_the_switches(tmp_path: Path) -> None:
    doc = setup_for("reconfig", "acceptor", 0, {}).node("a1", tmp_path, 0).init_json()
    assert (doc["protocol"], doc["variant"], doc["alpha"], doc["slots"]) == (PROTOCOL_2, "reconfig", ALPHA, 4)
    assert doc["commands"] == {"cfg1": 1, "cfg2": 2} and len(doc["configs"]) == 3
    assert doc["configs"][0]["phase2"]["sets"] == doc["quorums"]["phase2"]["sets"], "configuration 0 is init's own"
    assert "a1" not in doc["configs"][2]["members"]
    cheap = setup_for("cheap", "acceptor", 0, {})
    assert cheap.under_test == ("a3",), "the acceptor judged in Cheap Paxos is the auxiliary"
    configs = cheap.node("a3", tmp_path, 0).init_json()["configs"]
    assert [c["auxiliaries"] for c in configs] == [["a3"], [], []] and configs[1]["members"] == ["a2"]


def test_an_auxiliary_voting_for_a_command_is_caught_as_a_process(tmp_path: Path) -> None:
    """Cheap Paxos, 2 mains and 1 auxiliary: an accept of v1 under configuration 0 reaches a3, the auxiliary."""
    target = ProcessTarget([sys.executable, str(EXAMPLES / "acceptor_v2.py")], tmp_path)
    steps = [Step("accept", (0, 0, 0, 0, 0)), Step("accept", (0, 0, 1, 3, 0)), Step("finish")]
    report = replay(target, "acceptor", 0, steps, {"mutant": "aux-votes-commands"}, variant="cheap")
    assert [f.rule for f in report.findings] == ["auxiliary_votes"] and "auxiliary" in report.findings[0].reason
    assert replay(target, "acceptor", 0, steps, {}, variant="cheap").conforms
    forgets = replay(target, "acceptor", 0, steps, {"mutant": "aux-forgets-votes"}, variant="cheap")
    assert [f.rule for f in forgets.findings] == ["promise_reports_last_vote"], "its cfg1 vote is gone after a SIGKILL"


def test_a_main_of_cheap_paxos_is_judged_too_and_may_not_vote_once_retired() -> None:
    """The third Cheap Paxos system judges the main a1: under configuration 1 (cfg1 retired a1) it may not
    vote; the mutant that trusts any configuration does."""
    target, steps = load_adapter(IN_PROCESS), [Step("accept", (0, 0, 2, 0, 1)), Step("finish")]
    assert setup_for("cheap", "acceptor", 2, {}).under_test == ("a1",)
    report = replay(target, "acceptor", 2, steps, {"mutant": "votes-outside-config"}, variant="cheap")
    [finding] = report.findings
    assert finding.rule == "member_votes" and finding.node == "a1" and "whose members are {a2}" in finding.reason
    assert replay(target, "acceptor", 2, steps, {}, variant="cheap").conforms


def test_a_leader_applying_a_switch_early_is_caught_as_a_process(tmp_path: Path) -> None:
    """cfg1 chosen in slot 0 governs from slot 2 (alpha 2): slot 1 is still configuration 0's."""
    target = ProcessTarget([sys.executable, str(EXAMPLES / "proposer_v2.py")], tmp_path)
    steps = [*SWITCHED, Step("propose", (0, 0)), Step("finish", (0, 0, 0))]
    report = replay(target, "proposer", 0, steps, {"mutant": "leader-config-early"}, variant="reconfig")
    [finding] = report.findings
    assert finding.rule == "governing_config" and "slot 1 under configuration 1" in finding.reason
    assert replay(target, "proposer", 0, steps, {}, variant="reconfig").conforms


def test_a_leader_counting_the_old_configurations_quorum_is_caught() -> None:
    """Only a1 and a2 promise (a quorum of configuration 0, not of configuration 1); cfg1 is chosen in slot 0,
    so slot 2 is configuration 1's: the mutant proposes there anyway, the reference waits."""
    target = load_adapter(IN_PROCESS)
    partial = [Step("propose", (0, 3)), Step("deliver", (0,)), Step("deliver", (0,)), *[Step("drop", (0,))] * 3]
    steps = [*partial, Step("settle", (0,)), Step("propose", (0, 0)), Step("propose", (0, 1)), Step("finish", (0,))]
    report = replay(target, "proposer", 0, steps, {"mutant": "old-config-quorum"}, variant="reconfig")
    [finding] = report.findings
    assert finding.rule == "phase1_quorum" and "configuration 1" in finding.reason
    assert "only from {a1, a2}" in finding.reason
    assert replay(target, "proposer", 0, steps, {}, variant="reconfig").conforms


def test_a_learner_deciding_on_the_initial_quorums_is_caught_as_a_process(tmp_path: Path) -> None:
    """cfg1 (a majority of five) chosen in slot 0; slot 2, configuration 1's, voted by a2 and a3 alone."""
    target = ProcessTarget([sys.executable, str(EXAMPLES / "learner_v2.py")], tmp_path)
    steps = [
        Step("rival_prepare", (0, 0, 0b11111)), Step("rival_accept", (0, 0b11111, 0, 3)),
        Step("rival_accept", (0, 0b00110, 2, 0)), Step("settle", (0,)), Step("finish"),
    ]  # fmt: skip
    report = replay(target, "learner", 0, steps, {"mutant": "learner-initial-quorums"}, variant="reconfig")
    assert [f.rule for f in report.findings] == ["learner_quorum"] and "configuration 1" in report.findings[0].reason
    assert replay(target, "learner", 0, steps, {}, variant="reconfig").conforms


NONSENSE = """
    import json, sys
    for line in sys.stdin:
        msg = json.loads(line)
        if msg["type"] == "accept":
            vote = {k: msg[k] for k in ("ballot", "slot", "value")} | {"type": "accepted"}
            named = {"wrong": {"config": 9}, "other": {"config": (msg["config"] + 1) % 3}}.get("{mode}", {})
            print(json.dumps(vote | {"from": msg["to"], "to": msg["from"]} | named))
        print(json.dumps({"type": "done", "seq": msg["seq"]}), flush=True)
"""


@pytest.mark.parametrize(
    ("mode", "rule", "words"),
    [
        ("missing", "protocol", "lacks 'config'"),
        ("wrong", "protocol", "not a configuration in 0..2"),
        ("other", "replies_to_requests", "under configuration 1, but the accept it got names configuration 0"),
    ],
)
def test_a_target_that_gets_the_configuration_wrong_is_a_finding(
    tmp_path: Path, mode: str, rule: str, words: str
) -> None:
    script = tmp_path / "nonsense.py"
    script.write_text(textwrap.dedent(NONSENSE).replace("{mode}", mode))
    target = ProcessTarget([sys.executable, str(script)], tmp_path)
    report = replay(target, "acceptor", 0, [Step("accept", (0, 0, 0, 3, 0)), Step("finish")], {}, variant="cheap")
    [finding] = report.findings
    assert finding.rule == rule and words in finding.reason


def run(*args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, ["conform", "--json", *args])
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("mode", [["digits"], ["deep"], ["random", "3"], ["null-value"]])
def test_a_hostile_target_is_a_finding_not_a_crash_of_the_suite(tmp_path: Path, variant: str, mode: list[str]) -> None:
    hostile = Path(__file__).resolve().parent / "hostile_target.py"
    code, doc = run(
        "--variant", variant, "--max-examples", "5", "--max-findings", "1", "--timeout", "2", "--out", str(tmp_path),
        "--", sys.executable, "-S", str(hostile), *mode,
    )  # fmt: skip
    assert code == 1 and doc["variant"] == variant and doc["findings"][0]["rule"] in ("protocol", "crash", "timeout")


def test_the_cli_judges_cheap_paxos_and_replays_its_finding(tmp_path: Path) -> None:
    code, doc = run("--variant", "cheap", "--adapter", IN_PROCESS, "--max-examples", "40", "--out", str(tmp_path))
    assert code == 0 and doc["conforms"] is True and doc["variant"] == "cheap"
    code, doc = run(
        "--variant", "cheap", "--role", "learner", "--adapter", IN_PROCESS, "--option", "mutant=learner-config-early",
        "--max-examples", "100", "--max-findings", "1", "--out", str(tmp_path / "findings"),
    )  # fmt: skip
    [finding] = doc["findings"]
    assert code == 1 and finding["rule"] == "learner_quorum" and finding["judged_by"] == "spec.reconfig.chosen"
    recorded = load_replay(Path(finding["replay_file"]))
    assert (recorded.variant, recorded.role, recorded.rule) == ("cheap", "learner", "learner_quorum")
    code, doc = run("--adapter", IN_PROCESS, "--replay", finding["replay_file"], "--out", str(tmp_path / "again"))
    assert code == 1 and doc["variant"] == "cheap" and doc["findings"][0]["rule"] == "learner_quorum"
    code, doc = run("--variant", "reconfig", "--role", "group", "--adapter", IN_PROCESS, "--out", str(tmp_path))
    assert code == 2 and list(doc) == ["error"]


@pytest.mark.slow
@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_every_mutant_is_caught_in_every_seed_at_the_default_budget(mutant: str) -> None:
    variant, role, rule = MUTANTS[mutant]
    for seed in range(10):
        report = check(
            load_adapter(IN_PROCESS), role, max_examples=200, seed=seed, options={"mutant": mutant},
            variant=variant, max_findings=1,
        )  # fmt: skip
        assert [f.rule for f in report.findings] == [rule], (seed, [f.title for f in report.findings])


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("role", ["acceptor", "proposer", "learner"])
def test_the_reference_nodes_conform_over_many_seeds(variant: str, role: str) -> None:
    for seed in range(5):
        report = check(load_adapter(IN_PROCESS), role, max_examples=400, seed=seed, variant=variant, max_findings=1)
        assert report.conforms, (seed, [f.title for f in report.findings])
