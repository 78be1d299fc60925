"""`paxiom prove` end to end: exit codes, one JSON document with --json, CTIs, BMC, cluster files."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from paxiom.cli.main import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "quorums"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["prove", *args])
    return result.exit_code, result.stdout, result.stderr


def test_proof_json_lists_every_obligation() -> None:
    code, out, _ = run("--variant", "paxos", "--json")
    doc = json.loads(out)
    assert code == 0
    assert doc["variant"] == "paxos" and doc["proved"] is True and doc["cti"] is None
    names = [ob["name"] for ob in doc["obligations"]]
    assert "initiation/votes_safe" in names and "consecution/Phase2a/votes_safe" in names
    assert names[-1] == "safety/agreement"
    assert all(ob["status"] == "proved" and ob["seconds"] >= 0 for ob in doc["obligations"])


def test_several_variants_give_a_list() -> None:
    code, out, _ = run("--variant", "paxos", "--variant", "multipaxos", "--json")
    assert code == 0
    assert [d["variant"] for d in json.loads(out)] == ["paxos", "multipaxos"]


def test_human_output_is_a_matrix_of_obligations() -> None:
    code, out, _ = run("--variant", "flexible")
    assert code == 0
    assert "PROVED, 26 obligations" in out
    assert "votes_safe" in out and "invariant ⇒ agreement" in out


def test_weakened_axiom_prints_a_cti_and_exits_one() -> None:
    code, out, _ = run("--variant", "paxos", "--weaken", "quorum-intersection")
    assert code == 1
    assert "NOT PROVED" in out and "Counterexample to consecution/Phase2a/votes_safe" in out
    assert "member      q1 = {" in out and "action      Phase2a(b=r2" in out
    code, out, _ = run("--variant", "paxos", "--weaken", "quorum-intersection", "--json")
    cti = json.loads(out)["cti"]
    assert code == 1 and cti["broken"] == "votes_safe" and cti["pre"]["one_b"]


def test_drop_without_variant_runs_the_variants_that_have_the_conjunct() -> None:
    code, out, _ = run("--drop", "one_vote_per_ballot", "--json")
    docs = json.loads(out)
    assert code == 1
    assert [d["variant"] for d in docs] == ["fastpaxos", "fast-flexible"]
    assert all(d["dropped"] == ["one_vote_per_ballot"] and d["cti"] for d in docs)


def test_list_names_conjuncts_axioms_and_actions() -> None:
    code, out, _ = run("--list", "--variant", "fastpaxos", "--json")
    doc = json.loads(out)
    assert code == 0
    assert "votes_safe" in [c["name"] for c in doc["conjuncts"]]
    assert {"quorum_intersection", "phase1_meets_two_fast"} <= {a["name"] for a in doc["axioms"] if a["weakenable"]}
    assert [a["name"] for a in doc["actions"]] == [
        "Phase1a", "Phase1b", "Phase2a", "Phase2aAny", "Phase2b", "Phase2bAny"
    ]
    code, out, _ = run("--list", "--variant", "paxos")
    assert code == 0 and "--weaken quorum_intersection" in out


def test_unknown_names_are_one_line_errors() -> None:
    code, out, err = run("--variant", "paxos", "--drop", "no_such_thing", "--json")
    assert code == 2 and "no_such_thing" in json.loads(out)["error"] and "Traceback" not in err
    code, _, err = run("--variant", "paxos", "--weaken", "round_order")
    assert code == 2 and "round_order" in err
    code, _, err = run("--trace-out", "x.json")
    assert code == 2 and "--bmc" in err


def test_bmc_prints_a_run_and_writes_a_replayable_trace(tmp_path: Path) -> None:
    trace = tmp_path / "run.json"
    code, out, _ = run("--variant", "paxos", "--weaken", "quorum-intersection", "--bmc", "8",
                       "--trace-out", str(trace), "--json")
    doc = json.loads(out)
    assert code == 1 and doc["status"] == "violated" and len(doc["run"]["steps"]) == 8
    replayed = CliRunner().invoke(main, ["explore", "--replay", str(trace), "--json"])
    assert replayed.exit_code == 1
    assert "agreement" in {v["invariant"] for v in json.loads(replayed.stdout)["violations"]}


def test_bmc_without_weakening_finds_nothing() -> None:
    code, out, _ = run("--variant", "paxos", "--bmc", "4")
    assert code == 0 and "no execution of up to 4 steps breaks agreement" in out


def test_config_composes_proof_and_certificate() -> None:
    code, out, _ = run("--config", str(EXAMPLES / "flexible-safe.toml"), "--variant", "flexible")
    assert code == 0
    assert "Flexible Paxos is safe on" in out and "every phase-1 quorum meets every phase-2 quorum" in out
    code, out, _ = run("--config", str(EXAMPLES / "flexible-unsafe.toml"), "--variant", "flexible", "--json")
    doc = json.loads(out)
    assert code == 1 and doc["proved"] is True and doc["cluster"]["holds"] is False
    broken = doc["cluster"]["axioms"]["phase1_meets_phase2"][0]
    assert broken["holds"] is False
    first, second = (set(q["nodes"]) for q in broken["quorums"])
    assert not first & second


def test_config_without_fast_quorums_rejects_fast_variants() -> None:
    code, _, err = run("--config", str(EXAMPLES / "etcd-5.toml"), "--variant", "fastpaxos")
    assert code == 2 and "no fast quorums" in err
