"""The linearizability checker against brute-force enumeration, known verdicts, and its own explanations."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paxiom.lin.check import check, linearizable, without
from paxiom.lin.history import Event, Operation, pair
from paxiom.lin.models import CAS_REGISTER, KV, Model
from paxiom.lin.simulate import simulate

# --- an independent oracle: every order consistent with real time, every choice of which :info ops happened


def _step(model: Model, state: dict[Any, Any], op: Operation) -> bool:
    """Apply `op` as having happened (strictly: a cas or append that happened must have been legal)."""
    current = state.get(op.key)
    if op.f in ("read", "get"):
        return op.status != "ok" or current == op.output
    if op.f in ("write", "put"):
        state[op.key] = op.value
        return True
    if op.f == "cas":
        if current != op.value[0]:
            return False
        state[op.key] = op.value[1]
        return True
    if current is None:
        state[op.key] = (op.value,)
    elif isinstance(current, tuple):
        state[op.key] = (*current, op.value)
    else:
        return False
    return True


def brute_force(ops: Sequence[Operation], model: Model) -> bool:
    """Do some of the :info ops and all the :ok ops have an order, respecting real time, the model accepts?"""
    live = [op for op in ops if op.status != "fail"]
    must = {op.id for op in live if op.status == "ok"}

    def precedes(a: Operation, b: Operation) -> bool:  # a completed before b was invoked
        return a.status == "ok" and a.ret is not None and a.ret < b.call

    def extend(state: dict[Any, Any], placed: set[int]) -> bool:
        if must <= placed:
            return True
        for op in live:
            if op.id in placed or any(precedes(o, op) for o in live if o.id not in placed and o.id in must):
                continue
            trial = dict(state)
            if _step(model, trial, op) and extend(trial, placed | {op.id}):
                return True
        return False

    return extend({}, set())


# --- random small histories


@st.composite
def histories(draw: st.DrawFn, model: Model, keys: Sequence[Any]) -> list[Event]:
    processes = draw(st.integers(2, 3))
    budget = draw(st.integers(1, 8))
    events: list[Event] = []
    open_ops: dict[int, tuple[str, Any, Any]] = {}
    retired: set[int] = set()
    invoked = 0
    while invoked < budget or open_ops:
        idle = [p for p in range(processes) if p not in open_ops and p not in retired]
        if not idle and not open_ops:
            break  # every process lost an operation
        if idle and invoked < budget and (not open_ops or draw(st.booleans())):
            p = draw(st.sampled_from(idle))
            f = draw(st.sampled_from(model.fs))
            key = draw(st.sampled_from(keys))
            if f == "cas":
                value: Any = (draw(st.sampled_from([None, 0, 1])), draw(st.sampled_from([0, 1, 2])))
            elif f == "put":
                value = draw(st.sampled_from([(0,), (1,), 5]))
            elif f in ("write", "append"):
                value = draw(st.sampled_from([0, 1, 2]))
            else:
                value = None
            events.append(Event(len(events), p, "invoke", f, value, key))
            open_ops[p] = (f, value, key)
            invoked += 1
            continue
        p = draw(st.sampled_from(sorted(open_ops)))
        f, value, key = open_ops.pop(p)
        outcome = draw(st.sampled_from(["ok", "ok", "ok", "fail", "info", "lost"]))
        if outcome == "lost":  # never completes; the process is gone
            retired.add(p)
            continue
        if f in ("read", "get") and outcome == "ok":
            choices = [None, 0, 1, 2] if f == "read" else [None, 5, (0,), (1,), (0, 1), (1, 2), (2,)]
            value = draw(st.sampled_from(choices))
        events.append(Event(len(events), p, outcome, f, value, key))  # type: ignore[arg-type]
    return events


SETTINGS = settings(max_examples=400, deadline=None)


@SETTINGS
@given(histories(CAS_REGISTER, [None]))
def test_cas_register_agrees_with_brute_force(events: list[Event]) -> None:
    ops = pair(events)
    assert check(ops, model="cas-register").linearizable == brute_force(ops, CAS_REGISTER)


@SETTINGS
@given(histories(KV, ["x", "y"]))
def test_kv_agrees_with_brute_force(events: list[Event]) -> None:
    ops = pair(events)
    assert check(ops, model="kv").linearizable == brute_force(ops, KV)


@SETTINGS
@given(histories(CAS_REGISTER, ["x", "y", "z"]))
def test_per_key_verdicts_compose_to_the_whole(events: list[Event]) -> None:
    """The checker splits per key; brute force searches all keys' operations together."""
    ops = pair(events)
    result = check(ops, model="cas-register")
    per_key = {k.key: k.verdict for k in result.keys}
    assert per_key == {
        key: ("ok" if brute_force([o for o in ops if o.key == key], CAS_REGISTER) else "violation")
        for key in {o.key for o in ops}
    }
    assert result.linearizable == brute_force(ops, CAS_REGISTER)


@SETTINGS
@given(histories(CAS_REGISTER, [None]))
def test_explanation_is_minimal(events: list[Event]) -> None:
    ops = pair(events)
    result = check(ops, model="cas-register")
    if result.explanation is None:
        assert result.linearizable
        return
    shown = list(result.explanation.operations)
    assert result.explanation.minimal
    assert not brute_force(shown, CAS_REGISTER)
    for op in shown:
        assert brute_force(without(shown, [op], CAS_REGISTER), CAS_REGISTER), f"op {op.id} was not needed"


def test_random_histories_have_both_verdicts() -> None:
    """The property tests above are only as strong as the mix they draw: both verdicts must be common."""
    verdicts = [check(simulate(40, concurrency=3, stale_rate=0.2 * (s % 2), seed=s)).verdict for s in range(20)]
    assert verdicts.count("ok") >= 5 and verdicts.count("violation") >= 5


# --- known verdicts


def ev(p: int | str, kind: str, f: str, value: Any = None, key: Any = None) -> tuple[Any, ...]:
    return (p, kind, f, value, key)


def history(*rows: tuple[Any, ...]) -> list[Event]:
    return [Event(i, p, kind, f, value, key) for i, (p, kind, f, value, key) in enumerate(rows)]


KNOWN = {
    "stale read after a completed write": (
        [ev(0, "invoke", "write", 1), ev(0, "ok", "write", 1), ev(1, "invoke", "read"), ev(1, "ok", "read", None)],
        "violation",
    ),
    "read concurrent with a write sees the old value": (
        [ev(0, "invoke", "write", 1), ev(1, "invoke", "read"), ev(1, "ok", "read", None), ev(0, "ok", "write", 1)],
        "ok",
    ),
    "read concurrent with a write sees the new value": (
        [ev(0, "invoke", "write", 1), ev(1, "invoke", "read"), ev(1, "ok", "read", 1), ev(0, "ok", "write", 1)],
        "ok",
    ),
    "an :info write that later shows up": (
        [ev(0, "invoke", "write", 1), ev(0, "info", "write", 1), ev(1, "invoke", "read"), ev(1, "ok", "read", 1)],
        "ok",
    ),
    "an :info write may also never happen": (
        [ev(0, "invoke", "write", 1), ev(0, "info", "write", 1), ev(1, "invoke", "read"), ev(1, "ok", "read", None)],
        "ok",
    ),
    "an :info write cannot take effect before its invocation": (
        [ev(1, "invoke", "read"), ev(1, "ok", "read", 1), ev(0, "invoke", "write", 1), ev(0, "info", "write", 1)],
        "violation",
    ),
    "a failed cas must not take effect": (
        [
            ev(0, "invoke", "cas", (None, 2)),
            ev(0, "fail", "cas", (None, 2)),
            ev(1, "invoke", "read"),
            ev(1, "ok", "read", 2),
        ],
        "violation",
    ),
    "an ok cas whose precondition cannot hold": (
        [
            ev(0, "invoke", "write", 1),
            ev(0, "ok", "write", 1),
            ev(0, "invoke", "cas", (0, 2)),
            ev(0, "ok", "cas", (0, 2)),
        ],
        "violation",
    ),
    "reads may not flip-flop between two writes": (
        [
            ev(0, "invoke", "write", 1),
            ev(1, "invoke", "write", 2),
            ev(2, "invoke", "read"),
            ev(2, "ok", "read", 1),
            ev(2, "invoke", "read"),
            ev(2, "ok", "read", 2),
            ev(2, "invoke", "read"),
            ev(2, "ok", "read", 1),
            ev(0, "ok", "write", 1),
            ev(1, "ok", "write", 2),
        ],
        "violation",
    ),
    "nemesis events are not client operations": (
        [
            ev("nemesis", "info", "start"),
            ev(0, "invoke", "write", 1),
            ev(0, "ok", "write", 1),
            ev("nemesis", "info", "stop"),
            ev(1, "invoke", "read"),
            ev(1, "ok", "read", 1),
        ],
        "ok",
    ),
    "kv appends in real-time order": (
        [
            ev(0, "invoke", "append", 1, "k"),
            ev(0, "ok", "append", 1, "k"),
            ev(0, "invoke", "append", 2, "k"),
            ev(0, "ok", "append", 2, "k"),
            ev(1, "invoke", "get", None, "k"),
            ev(1, "ok", "get", (2, 1), "k"),
        ],
        "violation",
    ),
}


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_known_verdicts(name: str) -> None:
    rows, expected = KNOWN[name]
    ops = pair(history(*rows))
    assert check(ops).verdict == expected
    model = KV if any(op.f == "append" for op in ops) else CAS_REGISTER
    assert brute_force(ops, model) == (expected == "ok")


def test_a_stale_read_is_explained_with_the_writes_that_make_it_stale() -> None:
    rows = [
        ev(0, "invoke", "write", 1),
        ev(0, "ok", "write", 1),
        ev(0, "invoke", "write", 2),
        ev(0, "ok", "write", 2),
        ev(1, "invoke", "read"),
        ev(1, "ok", "read", 1),
        ev(2, "invoke", "read"),
        ev(2, "ok", "read", 2),
    ]
    result = check(history(*rows))
    assert result.explanation is not None
    assert [(op.f, op.value, op.output) for op in result.explanation.operations] == [
        ("write", 1, 1),
        ("write", 2, 2),
        ("read", None, 1),
    ]
    assert result.explanation.state == 2
    assert result.explanation.blocked is not None and result.explanation.blocked.output == 1


def test_simulated_histories_check_as_simulated() -> None:
    """Stale reads are explained with the writes that make them stale, never as reads of unwritten values."""
    for seed in range(6):
        assert check(simulate(3000, keys=3, concurrency=6, info_rate=0.05, seed=seed)).verdict == "ok"
        bad = check(simulate(1000, keys=10, concurrency=10, info_rate=0.05, stale_rate=0.01, seed=seed))
        assert bad.verdict == "violation" and bad.explanation is not None
        shown = bad.explanation.operations
        assert linearizable(shown, CAS_REGISTER) == "violation"
        written = {op.value if op.f == "write" else op.value[1] for op in shown if op.f != "read"}
        assert all(op.output in written for op in shown if op.f == "read" and op.output is not None)


def test_a_search_out_of_time_is_unknown_never_ok() -> None:
    events = simulate(20000, concurrency=10, info_rate=0.2, seed=1)
    started = time.monotonic()
    result = check(events, timeout=0.01)
    assert result.verdict == "unknown" and not result.linearizable
    assert "timeout" in result.keys[0].reason
    assert time.monotonic() - started < 5


def test_a_search_out_of_memory_is_unknown() -> None:
    result = check(simulate(5000, concurrency=10, info_rate=0.2, seed=1), max_configurations=100)
    assert result.verdict == "unknown" and "memory budget" in result.keys[0].reason


def test_a_violation_on_one_key_is_reported_on_that_key() -> None:
    good = simulate(500, keys=1, concurrency=3, seed=5)
    bad = simulate(500, keys=1, concurrency=3, stale_rate=0.3, seed=6)
    events = [Event(e.index, e.process, e.type, e.f, e.value, "good") for e in good]
    events += [Event(e.index + 10_000, f"b{e.process}", e.type, e.f, e.value, "bad") for e in bad]
    result = check(events)
    assert {k.key: k.verdict for k in result.keys} == {"good": "ok", "bad": "violation"}
    assert result.explanation is not None and result.explanation.key == "bad"
