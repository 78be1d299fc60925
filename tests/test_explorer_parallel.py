"""Parallel (sharded) and fingerprinted exploration give serial BFS's counts, verdicts and traces."""

from __future__ import annotations

from typing import Any

import pytest

from paxiom.explorer import Result, explore, replay
from paxiom.explorer.fingerprint import Fingerprints, collision_probability
from paxiom.explorer.parallel import Inbox, Outbox
from paxiom.explorer.search import settle
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
    """The same run (`same_counts_and_trace`), whose trace the spec replays to its violation."""
    same_counts_and_trace(a, b)
    if a.violation is not None:
        actions = [s.action for s in a.violation.trace if s.action is not None]
        trace, violations = replay(model, actions)
        assert [s.state for s in trace] == [s.state for s in a.violation.trace]
        assert a.violation.invariant in {v.invariant for v in violations}


def same_counts_and_trace(a: Result[Any], b: Result[Any]) -> None:
    """Counts where each run stopped, and on a violation the same invariant and trace (states and actions)."""
    assert (a.complete, a.stopped, a.distinct_states, a.generated, a.depth) == (
        b.complete,
        b.stopped,
        b.distinct_states,
        b.generated,
        b.depth,
    )
    if a.violation is None or b.violation is None:
        assert a.violation is b.violation is None
        return
    assert (a.violation.invariant, a.violation.kind, a.violation.reason) == (
        b.violation.invariant,
        b.violation.kind,
        b.violation.reason,
    )
    assert a.violation.trace == b.violation.trace


@pytest.mark.parametrize(("variant", "qs", "constants"), MODELS + BROKEN)
def test_parallel_run_is_the_serial_run(variant: str, qs: QuorumSystem, constants: dict[str, Any]) -> None:
    m = model(variant, qs, constants)
    serial = explore(m)
    assert serial.distinct_states > 50
    for workers in (2, 3):
        same_run(m, explore(m, workers=workers), serial)


@pytest.mark.parametrize(("variant", "qs", "constants"), [MODELS[0], MODELS[2], BROKEN[0], BROKEN[1]])
def test_sharded_symmetric_and_fingerprinted_runs_are_the_serial_ones(
    variant: str, qs: QuorumSystem, constants: dict[str, Any]
) -> None:
    m = model(variant, qs, constants)
    same_run(m, explore(m, workers=2, symmetry=True), explore(m, symmetry=True))
    same_run(m, explore(m, workers=2, fingerprint=True), explore(m, fingerprint=True))


def test_a_violation_deep_in_a_level_found_by_a_worker_is_the_serial_one() -> None:
    """Paxos with a phase-1 quorum of one: agreement breaks several levels down, far from the first state of
    its level. The worker owning the broken state reports it; its trace is serial BFS's, state for state."""
    m = model("paxos", QuorumSystem.flexible(3, 1, 2), {"max_ballot": 1})
    serial = explore(m, only=["agreement"])
    assert serial.violation is not None and serial.depth >= 6 and serial.distinct_states > 300
    for workers in (2, 3, 4):
        same_run(m, explore(m, only=["agreement"], workers=workers), serial)


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
    for workers in (2, 3):
        same_run(m, explore(m, max_states=3000, workers=workers), serial)


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
    serial: Result[Any] = explore(bad, only=["promise_monotonicity"])
    assert serial.violation is not None and serial.violation.kind == "step"
    parallel: Result[Any] = explore(bad, only=["promise_monotonicity"], workers=2)
    same_counts_and_trace(parallel, serial)
    last = parallel.violation.trace[-1].action if parallel.violation else None
    assert last is not None and last.name == "Forget"


def test_a_failing_worker_fails_the_run() -> None:
    m = model("paxos", QuorumSystem.majority(3), {"max_ballot": 1})

    class Failing(type(m)):  # type: ignore[misc]
        def next(self, s: Any) -> Any:
            if any(b >= 0 for b in s.max_bal):
                raise ZeroDivisionError("in the spec")
            yield from super().next(s)

    with pytest.raises(RuntimeError, match="ZeroDivisionError: in the spec"):
        explore(Failing(m.cfg), workers=2)


def test_a_state_sent_to_another_worker_iterates_as_the_kept_one() -> None:
    """What makes parallel traces the serial ones: a state rebuilt from an outbox is equal to the state kept
    at home (`settle`) and iterates its sets in the same order, so it yields its successors in that order;
    each message crosses once."""
    m = model("multipaxos", QuorumSystem.majority(2), {"max_ballot": 1, "slots": 2})
    level, states = list(m.init()), []
    for _ in range(6):
        level = [t for s in level for _, t in m.next(s) if t != s][:200]
        states += level
    outbox, inbox = Outbox(), Inbox({})
    entries = [(i, t, t, -1) for i, t in enumerate(states)]
    received = inbox.unpack(outbox.pack(entries))
    assert [(p, r) for p, _, _, r in received] == [(p, r) for p, _, _, r in entries]
    for (_, t, key, _), s in zip(received, states, strict=True):
        kept = settle(s)
        assert t == kept and key is t and list(t.msgs) == list(kept.msgs)  # type: ignore[attr-defined]
        assert [a for a, _ in m.next(t)] == [a for a, _ in m.next(kept)]
    assert any(list(settle(s).msgs) != list(s.msgs) for s in states)  # the reason to settle at home
    assert inbox.unpack(outbox.pack(entries[:50]))[-1][1] == settle(states[49])
    assert outbox.numbers.new == [] and len(inbox.elements) == len({x for s in states for x in s.msgs})


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
