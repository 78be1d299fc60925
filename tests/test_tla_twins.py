"""The TLA+ twins agree with the Python spec: for every TLC model, the explorer on the same constants
reaches exactly the same states and gives the same verdict.

Safe models are compared on everything (distinct states, depth, verdict). Unsafe ones are compared twice:
checking `agreement`, both must find it violated by a shortest counterexample of the same length (TLC
runs with one worker, so its breadth-first search is exact and the trace shortest); exploring without
invariants, both must reach the same number of states (a search that stops at the first violation stops
at an order-dependent point, so its count is not comparable).
"""

from __future__ import annotations

import shutil

import pytest

from paxiom.explorer import explore
from paxiom.tlc.catalog import MODELS, SLOW_MODELS
from paxiom.tlc.models import TLA_DIR, TlcModel, read_sources
from paxiom.tlc.runner import run_tlc

pytestmark = pytest.mark.skipif(shutil.which("java") is None, reason="TLC needs Java (make java installs it)")


def assert_twins_agree(model: TlcModel) -> None:
    sources = {**read_sources(TLA_DIR), model.name: model.module_text()}
    tlc = run_tlc(sources, model.name, model.cfg_text(), workers=1)
    py = explore(model.python_model(), only=model.explorer_only)

    if model.expect is None:
        assert tlc.violation is None, f"TLC found {tlc.violation} in {model.name}"
        assert py.violation is None, f"the explorer found {py.violation and py.violation.reason} in {model.name}"
        assert py.complete
        assert (tlc.distinct_states, tlc.depth) == (py.distinct_states, py.depth)
        return

    assert tlc.violation is not None and py.violation is not None
    assert tlc.violation.invariant == py.violation.invariant == model.expect
    assert tlc.violation.kind == py.violation.kind == "state"
    assert len(tlc.violation.actions) == len(py.violation.trace) - 1

    full_tlc = run_tlc(sources, model.name, model.cfg_text(checked=()), workers=2)
    full_py = explore(model.python_model(), only=())
    assert full_tlc.violation is None and full_py.complete
    assert (full_tlc.distinct_states, full_tlc.depth) == (full_py.distinct_states, full_py.depth)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
def test_twins_agree(model: TlcModel) -> None:
    assert_twins_agree(model)


@pytest.mark.slow
@pytest.mark.parametrize("model", SLOW_MODELS, ids=lambda m: m.name)
def test_twins_agree_on_bigger_constants(model: TlcModel) -> None:
    assert_twins_agree(model)
