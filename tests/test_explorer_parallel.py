"""Parallel and fingerprinted exploration give serial BFS's counts, verdicts and traces."""

from __future__ import annotations

from typing import Any

import pytest

from paxiom.explorer import Result, explore, replay
from paxiom.explorer.fingerprint import Fingerprints, collision_probability
from paxiom.explorer.parallel import SERIAL_BELOW
from paxiom.spec.model import act
from paxiom.spec.quorums import QuorumSystem
from paxiom.variants import build_model

MODELS = [
    ("paxos", QuorumSystem.majority(3), {"max_ballot": 1}),
    ("paxos", QuorumSystem.flexible(4, 3, 2), {"max_ballot": 0}),
    ("multipaxos", QuorumSystem.majority(2), {"max_ballot": 1, "slots": 2}),
    ("fastpaxos", QuorumSystem.fast_paxos(3, 2, 3), {"max_ballot": 1, "fast_ballots": [0]}),
    ("reconfig", QuorumSystem.majority(2), {"max_ballot": 1, "slots": 2}),
]
BROKEN = [
    ("paxos", QuorumSystem.flexible(3, 1, 2), {"max_ballot": 1}),
    ("multipaxos", QuorumSystem.flexible(3, 1, 2), {"max_ballot": 1, "slots": 1}),
    ("fastpaxos", QuorumSystem.fast_paxos(3, 2, 2), {"max_ballot": 1, "fast_ballots": [0]}),
]


def model(variant: str, qs: QuorumSystem, constants: dict[str, Any]) -> Any:
    return build_model(variant, qs, values=["v1", "v2"][: 1 if variant == "reconfig" else 2], **constants)


def same_run(model: Any, a: Result[Any], b: Result[Any]) -> None:
    """Equal counts on a complete run; on a violation the same invariant and a trace as short, which the
    spec replays to that violation. (Which of the equally short traces comes first follows the order the
    spec yields successors in, i.e. its message sets' iteration order, which a copy of a set need not keep.)"""
    assert (a.complete, a.stopped) == (b.complete, b.stopped)
    if a.complete:
        assert (a.distinct_states, a.generated, a.depth) == (b.distinct_states, b.generated, b.depth)
    if a.violation is None or b.violation is None:
        assert a.violation is b.violation is None
        return
    assert (a.violation.invariant, a.violation.kind) == (b.violation.invariant, b.violation.kind)
    assert len(a.violation.trace) == len(b.violation.trace)
    actions = [s.action for s in a.violation.trace if s.action is not None]
    trace, violations = replay(model, actions)
    assert [s.state for s in trace] == [s.state for s in a.violation.trace]
    assert a.violation.invariant in {v.invariant for v in violations}


@pytest.fixture(autouse=True)
def parallel_from_small_levels(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fork even for the small levels of these small models, so the workers do run."""
    monkeypatch.setattr("paxiom.explorer.parallel.SERIAL_BELOW", 128)
    assert SERIAL_BELOW > 128


@pytest.mark.parametrize(("variant", "qs", "constants"), MODELS + BROKEN)
def test_parallel_run_is_the_serial_run(variant: str, qs: QuorumSystem, constants: dict[str, Any]) -> None:
    m = model(variant, qs, constants)
    serial = explore(m)
    assert serial.distinct_states > 50
    same_run(m, explore(m, workers=3), serial)


@pytest.mark.parametrize(("variant", "qs", "constants"), BROKEN[:2])
def test_parallel_stops_at_the_serial_first_violation_of_each_invariant(
    variant: str, qs: QuorumSystem, constants: dict[str, Any]
) -> None:
    m = model(variant, qs, constants)
    for name in ("agreement", "votes_safe"):
        serial = explore(m, only=[name])
        assert serial.violation is not None
        same_run(m, explore(m, only=[name], workers=2), serial)


def test_parallel_stops_where_serial_does_at_max_states() -> None:
    m = model("paxos", QuorumSystem.majority(3), {"max_ballot": 2})
    serial = explore(m, max_states=3000)
    assert serial.stopped == "max_states" and serial.distinct_states == 3000
    parallel = explore(m, max_states=3000, workers=2)
    assert parallel.stopped == "max_states" and parallel.distinct_states == 3000


def test_a_step_violation_is_found_in_parallel_as_serially() -> None:
    """A model whose promise can drop (a crash forgetting it): the step half of promise_monotonicity breaks."""
    m = model("paxos", QuorumSystem.majority(3), {"max_ballot": 1})

    class Forgetful(type(m)):  # type: ignore[misc]
        def next(self, s: Any) -> Any:
            yield from super().next(s)
            for a in self.cfg.acceptors:
                if s.max_bal[a] >= 0 and s.max_vbal[a] < 0:
                    yield act("Forget", a=a), s._replace(max_bal=(*s.max_bal[:a], -1, *s.max_bal[a + 1 :]))

    bad = Forgetful(m.cfg)
    serial = explore(bad, only=["promise_monotonicity"])
    assert serial.violation is not None and serial.violation.kind == "step"
    parallel = explore(bad, only=["promise_monotonicity"], workers=2)
    assert parallel.violation is not None and parallel.violation.kind == "step"
    assert len(parallel.violation.trace) == len(serial.violation.trace)
    last = parallel.violation.trace[-1].action
    assert last is not None and last.name == "Forget"


@pytest.mark.parametrize(("variant", "qs", "constants"), [MODELS[0], BROKEN[0]])
def test_fingerprints_count_the_states(variant: str, qs: QuorumSystem, constants: dict[str, Any]) -> None:
    m = model(variant, qs, constants)
    plain, printed = explore(m), explore(m, fingerprint=True, workers=2)
    assert (printed.distinct_states, printed.generated, printed.depth) == (
        plain.distinct_states,
        plain.generated,
        plain.depth,
    )
    assert printed.collision_probability == collision_probability(plain.distinct_states) < 1e-9
    if plain.violation is not None:
        assert printed.violation is not None and printed.violation.invariant == plain.violation.invariant
        assert len(printed.violation.trace) == len(plain.violation.trace)
        actions = [s.action for s in printed.violation.trace if s.action is not None]
        assert plain.violation.invariant in {v.invariant for v in replay(m, actions)[1]}


def test_fingerprints_tell_states_apart_and_ignore_set_order() -> None:
    fp = Fingerprints()
    a, b = (1, frozenset({(1, "x"), (2, "y")})), (1, frozenset({(2, "y"), (1, "x")}))
    assert fp(a) == fp(b) and fp(a) != fp((1, frozenset({(1, "x")}))) and fp((0,)) != fp(("0",))
    assert 0 <= fp(a) < 2**64
    assert collision_probability(10**6) == pytest.approx(10**6 * (10**6 - 1) / 2**65)
