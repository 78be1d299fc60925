"""The TLC runner, the model files and the `paxiom tla` verb."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from paxiom.cli.main import main
from paxiom.cluster import load_cluster
from paxiom.errors import PaxiomError
from paxiom.explorer import explore
from paxiom.spec.quorums import QuorumSystem
from paxiom.tlc.catalog import MODELS
from paxiom.tlc.models import TLA_DIR, TlcModel, expectation, find_configs
from paxiom.tlc.runner import parse_output, run_tlc
from paxiom.variants import build_model

needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="TLC needs Java (make java installs it)")

COUNTER = """---- MODULE Counter ----
EXTENDS Integers
VARIABLE x
Init == x = 0
Next == x' = IF x < 3 THEN x + 1 ELSE 0
small == x <= 2
rising_step == [][x' > x]_x
====
"""


def test_checked_in_models_are_the_catalog_rendered() -> None:
    assert [cfg.stem for cfg in find_configs(TLA_DIR)] == sorted(m.name for m in MODELS)
    for model in MODELS:
        assert (TLA_DIR / f"{model.name}.tla").read_text() == model.module_text(), model.name
        assert (TLA_DIR / f"{model.name}.cfg").read_text() == model.cfg_text(), model.name


def test_every_variant_has_a_safe_and_an_unsafe_model() -> None:
    for variant in ("paxos", "multipaxos", "fastpaxos", "reconfig", "cheap"):
        expects = {m.expect for m in MODELS if m.variant == variant}
        assert expects == {None, "agreement"}, variant


def test_unsafe_models_are_exactly_those_breaking_a_quorum_condition() -> None:
    for model in (m for m in MODELS if m.bug is None):  # a deliberate bug breaks the protocol, not a quorum
        predicted = TlcModel.predicted(
            model.name, model.variant, model.quorums, values=model.values, max_ballot=model.max_ballot,
            slots=model.slots, fast_ballots=model.fast_ballots,
        )
        assert predicted.expect == model.expect, model.name


def test_generated_configs_describe_their_model() -> None:
    for model in MODELS:
        read = TlcModel.from_cfg(model.name, model.cfg_text())
        assert read is not None and (read.constants(), read.expect) == (model.constants(), model.expect)
        assert read.module_text().splitlines()[2:] == model.module_text().splitlines()[2:]
    assert TlcModel.from_cfg("x", "\\* paxiom-expect: holds\nINIT Init\n") is None
    with pytest.raises(PaxiomError, match="malformed paxiom-model"):
        TlcModel.from_cfg("x", '\\* paxiom-expect: holds\n\\* paxiom-model: {"variant": "paxos"}\n')


def test_model_module_names_acceptors_and_quorums() -> None:
    model = TlcModel("MCx", "paxos", QuorumSystem.flexible(3, 3, 1), ("v1", 'say "hi"'), max_ballot=0)
    text = model.module_text()
    assert "EXTENDS Paxos" in text and "0 = a1, 1 = a2, 2 = a3" in text
    assert "MCQuorum1 == {Q \\in SUBSET MCAcceptors : \\E M \\in {{0, 1, 2}} : M \\subseteq Q}" in text
    assert "MCQuorum2 == {Q \\in SUBSET MCAcceptors : \\E M \\in {{0}, {1}, {2}} : M \\subseteq Q}" in text
    assert 'MCValues == {"v1", "say \\"hi\\""}' in text
    assert expectation(model.cfg_text(), where="x") is None


def test_unsafe_model_checks_only_the_invariant_it_expects() -> None:
    model = next(m for m in MODELS if m.expect == "agreement")
    cfg = model.cfg_text()
    assert expectation(cfg, where="x") == "agreement"
    assert "INVARIANTS agreement\n" in cfg and "PROPERTIES" not in cfg
    assert "INVARIANTS" not in model.cfg_text(checked=())


def test_expectation_line_is_required() -> None:
    with pytest.raises(PaxiomError, match="paxiom-expect"):
        expectation("INIT Init\n", where="m.cfg")


def test_bad_model_names_and_variants_are_refused() -> None:
    with pytest.raises(PaxiomError, match="module name"):
        TlcModel("MC-1", "paxos", QuorumSystem.majority(3), ("v1",), max_ballot=0)
    with pytest.raises(PaxiomError, match="unknown variant"):
        TlcModel("MC", "raft", QuorumSystem.majority(3), ("v1",), max_ballot=0)


def test_parse_output_reads_counts_and_converts_depth_to_steps() -> None:
    out = (
        "Model checking completed. No error has been found.\n"
        "23,839 states generated, 3,921 distinct states found, 0 states left on queue.\n"
        "The depth of the complete state graph search is 17.\n"
    )
    run = parse_output(out, 1.5)
    assert (run.distinct_states, run.generated, run.depth, run.holds) == (3921, 23839, 16, True)


def test_parse_output_trusts_counts_only_from_a_clean_exit() -> None:
    out = (
        "Error: The error occurred when TLC was evaluating the nested expressions at the following positions:\n"
        "12 states generated, 10 distinct states found, 2 states left on queue.\n"
        "The depth of the complete state graph search is 3.\n"
    )
    with pytest.raises(PaxiomError, match="evaluating the nested expressions"):
        parse_output(out, 0.1, returncode=255)


def test_parse_output_without_a_verdict_is_an_error() -> None:
    with pytest.raises(PaxiomError, match="Unknown operator"):
        parse_output("Semantic errors:\n\n*** Errors: 1\n\nline 3, col 1 of module M\n\nUnknown operator: `y'.\n", 0.1)


@needs_java
def test_runner_reports_state_and_step_violations_with_their_traces() -> None:
    state = run_tlc({"Counter": COUNTER}, "Counter", "INIT Init\nNEXT Next\nINVARIANT small\n", workers=1)
    assert state.violation is not None
    assert (state.violation.invariant, state.violation.kind) == ("small", "state")
    assert state.violation.actions == ("Next",) * 3
    assert state.depth == 3

    step = run_tlc({"Counter": COUNTER}, "Counter", "INIT Init\nNEXT Next\nPROPERTY rising_step\n", workers=1)
    assert step.violation is not None
    assert (step.violation.invariant, step.violation.kind) == ("rising", "step")

    holds = run_tlc({"Counter": COUNTER}, "Counter", "INIT Init\nNEXT Next\n", workers=1)
    assert (holds.holds, holds.distinct_states, holds.depth) == (True, 4, 3)


@needs_java
def test_runner_turns_tla_errors_into_one_line() -> None:
    with pytest.raises(PaxiomError, match="Unknown operator"):
        run_tlc({"Counter": COUNTER.replace("x <= 2", "y <= 2")}, "Counter", "INIT Init\nNEXT Next\n")


@needs_java
def test_quorum_families_must_be_given_upward_closed() -> None:
    model = next(m for m in MODELS if m.name == "MCPaxos")
    minimal_only = model.module_text().replace(
        "MCQuorum1 == {Q \\in SUBSET MCAcceptors : \\E M \\in {{0, 1}, {0, 2}, {1, 2}} : M \\subseteq Q}",
        "MCQuorum1 == {{0, 1}, {0, 2}, {1, 2}}",
    )
    assert minimal_only != model.module_text()
    sources = {"Paxos": (TLA_DIR / "Paxos.tla").read_text(), model.name: minimal_only}
    with pytest.raises(PaxiomError, match="Assumption"):
        run_tlc(sources, model.name, model.cfg_text(), workers=1)


@needs_java
def test_check_exits_1_when_a_model_misses_its_expected_verdict(tmp_path: Path) -> None:
    model = next(m for m in MODELS if m.name == "MCFlexiblePaxos")
    for name in ("Paxos.tla", f"{model.name}.tla"):
        shutil.copy(TLA_DIR / name, tmp_path / name)
    (tmp_path / f"{model.name}.cfg").write_text(
        model.cfg_text().replace("paxiom-expect: holds", "paxiom-expect: agreement violated")
    )
    result = CliRunner().invoke(main, ["tla", "check", "--json", "--twin", "--expected", str(tmp_path)])
    assert result.exit_code == 1, result.output
    (report,) = json.loads(result.stdout)["models"]
    assert (report["result"], report["as_expected"]) == ("holds", False)
    twin = report["explorer"]
    assert twin["agrees"] and twin["result"] == "holds"
    assert (twin["distinct_states"], twin["depth"]) == (report["distinct_states"], report["depth"])


def test_check_refuses_paths_that_are_not_models(tmp_path: Path) -> None:
    stray = tmp_path / "notes.txt"
    stray.write_text("x")
    result = CliRunner().invoke(main, ["tla", "check", "--json", str(stray)])
    assert result.exit_code == 2
    assert "not a TLC model" in json.loads(result.stdout)["error"]
    empty = CliRunner().invoke(main, ["tla", "check", str(tmp_path)])
    assert empty.exit_code == 2 and "no TLC models" in empty.output


UNSAFE_CLUSTER = """description = "three nodes, one-node phase 1"
nodes = ["n1", "n2", "n3"]

[zones]
everyone = ["n1", "n2", "n3"]

[quorums]
phase1 = "1 of (everyone)"
phase2 = "2 of (everyone)"
"""


@needs_java
def test_exported_cluster_model_runs_in_tlc_and_matches_the_explorer(tmp_path: Path) -> None:
    cluster = tmp_path / "one-node-phase1.toml"
    cluster.write_text(UNSAFE_CLUSTER)
    out = tmp_path / "model"
    exported = CliRunner().invoke(main, ["tla", "export", str(cluster), "--out", str(out), "--json"])
    assert exported.exit_code == 0, exported.output
    doc = json.loads(exported.stdout)
    assert (doc["model"], doc["variant"], doc["expect"]) == ("MCOneNodePhase1", "paxos", "agreement violated")
    assert sorted(p.name for p in out.iterdir()) == ["MCOneNodePhase1.cfg", "MCOneNodePhase1.tla", "Paxos.tla"]

    traces = tmp_path / "traces"
    checked = CliRunner().invoke(
        main, ["tla", "check", "--json", "--workers", "1", "--trace-out", str(traces), str(out)]
    )
    assert checked.exit_code == 1, checked.output  # the operator's unsafe cluster is a violation
    assert json.loads(checked.stdout)["holds"] is False
    as_expected = CliRunner().invoke(main, ["tla", "check", "--json", "--workers", "1", "--expected", str(out)])
    assert as_expected.exit_code == 0, as_expected.output
    (report,) = json.loads(checked.stdout)["models"]
    assert report["result"] == "agreement violated" and report["as_expected"]
    assert report["violation"]["spec_confirms"]

    replayed = CliRunner().invoke(main, ["explore", "--replay", report["violation"]["trace"], "--json"])
    assert replayed.exit_code == 1, replayed.output
    assert "agreement" in replayed.stdout
    twin = explore(build_model("paxos", load_cluster(cluster).quorum_system, values=("v1", "v2"), max_ballot=1),
                   only={"agreement"})
    assert twin.violation is not None and report["depth"] == len(twin.violation.trace) - 1


def test_export_refuses_fast_paxos_without_fast_quorums(tmp_path: Path) -> None:
    cluster = tmp_path / "c.toml"
    cluster.write_text(UNSAFE_CLUSTER)
    result = CliRunner().invoke(main, ["tla", "export", str(cluster), "--out", str(tmp_path / "o"), "--variant",
                                       "fastpaxos", "--json"])
    assert result.exit_code == 2
    assert "fast quorums" in json.loads(result.stdout)["error"]


def test_export_refuses_clusters_too_large_to_enumerate(tmp_path: Path) -> None:
    nodes = ", ".join(f'"n{i}"' for i in range(25))
    cluster = tmp_path / "big.toml"
    zones = f"[zones]\neveryone = [{nodes}]\n"
    cluster.write_text(f'nodes = [{nodes}]\n\n{zones}\n[quorums]\nphase1 = "majority(everyone)"\n')
    result = CliRunner().invoke(main, ["tla", "export", str(cluster), "--out", str(tmp_path / "o"), "--json"])
    assert result.exit_code == 2, result.output
    assert "25 acceptors" in json.loads(result.stdout)["error"]
