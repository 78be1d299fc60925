"""The conformance search over several seeds: the same merged report from one worker or two processes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from paxiom.conform.report import Report
from paxiom.conform.search import check_seeds
from paxiom.conform.targets import ProcessTarget, load_adapter
from paxiom.errors import PaxiomError
from paxiom.fanout import IN_PROCESS, Pool

EXAMPLES = Path(__file__).parent.parent / "examples" / "conformance"


def search(tmp_path: Path, pool: Pool, mutant: str | None, examples: int) -> Report:
    target = ProcessTarget([sys.executable, str(EXAMPLES / "acceptor_v2.py")], tmp_path)
    options = {} if mutant is None else {"mutant": mutant}
    return check_seeds(target, "acceptor", [0, 1], pool, max_findings=1, max_examples=examples, options=options,
                       variant="multipaxos")  # fmt: skip


def summary(report: Report) -> tuple[object, ...]:
    return [(f.rule, f.steps) for f in report.findings], report.examples, report.judged


def test_a_search_over_seeds_does_not_depend_on_the_workers(tmp_path: Path) -> None:
    one = search(tmp_path, IN_PROCESS, None, 4)
    assert one.conforms and one.examples == 8  # both seeds' schedules counted
    assert summary(search(tmp_path, Pool(2), None, 4)) == summary(one)


@pytest.mark.slow
def test_a_finding_over_seeds_does_not_depend_on_the_workers(tmp_path: Path) -> None:
    one = search(tmp_path, IN_PROCESS, "promise-per-slot", 10)
    assert [f.rule for f in one.findings] == ["promise_covers_all_slots"]
    assert summary(search(tmp_path, Pool(2), "promise-per-slot", 10)) == summary(one)


def test_a_target_that_cannot_reach_a_worker_is_refused(tmp_path: Path) -> None:
    target = load_adapter(f"{EXAMPLES / 'minimal_adapter.py'}:TinyAdapter")  # loaded from a file: not importable
    with pytest.raises(PaxiomError, match="cannot be sent to worker processes"):
        check_seeds(target, "acceptor", [0, 1], Pool(2), max_examples=2)


def test_an_adapter_loaded_from_a_file_leaves_the_import_path_as_it_was() -> None:
    """Else loading the in-process example (as test_conform_variants does) puts examples/conformance on the
    path, and the adapter above is importable, so not refused, in every test run after it."""
    before = list(sys.path)
    load_adapter(f"{EXAMPLES / 'acceptor_v2_inprocess.py'}:InProcess")
    assert sys.path == before
