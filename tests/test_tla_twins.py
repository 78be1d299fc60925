"""The TLA+ twins agree with the Python spec: for every TLC model, the explorer on the same constants
reaches exactly the same states and gives the same verdict.

Safe models are compared on everything (distinct states, depth, verdict). Unsafe ones are compared twice:
checking `agreement`, both must find it violated by a shortest counterexample of the same length (TLC
runs with one worker, so its breadth-first search is exact and the trace shortest), and TLC's run,
replayed step by step through the Python spec, must break agreement there too; exploring without
invariants, both must reach the same number of states (a search that stops at the first violation stops
at an order-dependent point, so its count is not comparable).
"""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from paxiom.explorer import explore
from paxiom.tlc.catalog import MODELS, SLOW_MODELS
from paxiom.tlc.counterexample import replay_in_spec
from paxiom.tlc.models import STATE_INVARIANTS, STEP_PROPERTIES, TLA_DIR, TlcModel, read_sources
from paxiom.tlc.runner import STEP_SUFFIX, run_tlc

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
    replayed = replay_in_spec(model, tlc)
    assert replayed.confirms, replayed.reason

    full_tlc = run_tlc(sources, model.name, model.cfg_text(checked=()), workers=2)
    full_py = explore(model.python_model(), only=())
    assert full_tlc.violation is None and full_py.complete
    assert (full_tlc.distinct_states, full_tlc.depth) == (full_py.distinct_states, full_py.depth)


def assert_same_verdict_on(model: TlcModel, invariant: str) -> None:
    """Checking one invariant alone, both find it violated by equally short traces, or both find it holds."""
    sources = {**read_sources(TLA_DIR), model.name: model.module_text()}
    tlc = run_tlc(sources, model.name, model.cfg_text(checked=(invariant,)), workers=1)
    py = explore(model.python_model(), only={invariant.removesuffix(STEP_SUFFIX)})
    if tlc.violation is None or py.violation is None:
        assert tlc.violation is None and py.violation is None, (tlc.violation, py.violation)
        assert tlc.distinct_states == py.distinct_states
    else:
        assert (tlc.violation.invariant, tlc.violation.kind) == (py.violation.invariant, py.violation.kind)
        assert len(tlc.violation.actions) == len(py.violation.trace) - 1


UNSAFE = [m for m in MODELS if m.expect]
SLOW_TWINS = frozenset({"MCCheap", "MCCheapAuxQuorum"})
"""Cheap Paxos's three acceptors: 30,641 and 57,369 states, minutes of TLC on the shared machine (-m slow)."""


def cases(models: list[TlcModel] | tuple[TlcModel, ...]) -> list[Any]:
    return [pytest.param(m, marks=pytest.mark.slow) if m.name in SLOW_TWINS else m for m in models]


@pytest.mark.parametrize("model", cases(MODELS), ids=lambda m: m.name)
def test_twins_agree(model: TlcModel) -> None:
    assert_twins_agree(model)


@pytest.mark.parametrize("model", cases(UNSAFE), ids=lambda m: m.name)
def test_twins_find_the_same_first_unsafe_vote(model: TlcModel) -> None:
    """votes_safe (SafeAt) is the subtle invariant: an unsafe configuration breaks it before agreement."""
    assert_same_verdict_on(model, "votes_safe")


# quorum_intersection has no explorer twin: the explorer reports it as the model's `config_violation`.
@pytest.mark.slow
@pytest.mark.parametrize("invariant", [i for i in STATE_INVARIANTS + STEP_PROPERTIES if i != "quorum_intersection"])
@pytest.mark.parametrize("model", UNSAFE, ids=lambda m: m.name)
def test_twins_agree_on_each_invariant_of_an_unsafe_model(model: TlcModel, invariant: str) -> None:
    assert_same_verdict_on(model, invariant)


@pytest.mark.slow
@pytest.mark.parametrize("model", SLOW_MODELS, ids=lambda m: m.name)
def test_twins_agree_on_bigger_constants(model: TlcModel) -> None:
    assert_twins_agree(model)
