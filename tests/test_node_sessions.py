"""Client sessions: a retry applies once and gets the first answer; expiry is by the log, in snapshots."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from paxiom.impl.values import Command
from paxiom.node.sessions import APPLIED, EXPIRED, STALE, Outcome, SessionMachine, decode_outcome


class Counter:
    """An application whose every apply is visible: the result is the number of applies so far."""

    def __init__(self) -> None:
        self.count = 0

    def apply(self, op: bytes) -> bytes:
        self.count += 1
        return str(self.count).encode()

    def snapshot(self) -> bytes:
        return str(self.count).encode()

    def restore(self, state: bytes) -> None:
        self.count = int(state)


def apply(sm: SessionMachine, client: str, seq: int) -> Outcome:
    return decode_outcome(sm.apply(Command(client, seq, b"inc")))


def test_retry_applies_once_and_gets_the_first_answer() -> None:
    app = Counter()
    sm = SessionMachine(app)
    assert apply(sm, "c", 1) == Outcome(APPLIED, b"1")
    assert apply(sm, "d", 1) == Outcome(APPLIED, b"2")
    assert apply(sm, "c", 1) == Outcome(APPLIED, b"1")
    assert app.count == 2
    assert apply(sm, "c", 5) == Outcome(APPLIED, b"3")
    assert apply(sm, "c", 4) == Outcome(STALE, b"")
    assert apply(sm, "c", 5) == Outcome(APPLIED, b"3")
    assert app.count == 3


def test_unknown_session_above_seq_one_is_refused() -> None:
    app = Counter()
    assert apply(SessionMachine(app), "new", 2) == Outcome(EXPIRED, b"")
    assert app.count == 0


def test_capacity_evicts_least_recently_applied_and_the_retry_is_refused() -> None:
    sm = SessionMachine(Counter(), capacity=2)
    apply(sm, "a", 1)
    apply(sm, "b", 1)
    apply(sm, "a", 2)
    apply(sm, "c", 1)  # evicts b, the least recently applied
    assert list(sm.sessions) == ["a", "c"]
    assert apply(sm, "b", 2).tag == EXPIRED


def test_idle_sessions_expire_by_applied_count() -> None:
    sm = SessionMachine(Counter(), idle_limit=3)
    apply(sm, "idle", 1)
    for seq in range(1, 4):
        apply(sm, "busy", seq)
    assert "idle" not in sm.sessions and "busy" in sm.sessions


steps = st.lists(st.tuples(st.sampled_from("abc"), st.integers(1, 4)), max_size=40)


@given(steps, st.integers(0, 40))
def test_sessions_survive_snapshot_restore(run: list[tuple[str, int]], cut: int) -> None:
    straight = SessionMachine(Counter(), capacity=2, idle_limit=5)
    answers = [straight.apply(Command(c, s, b"")) for c, s in run]
    first, second = SessionMachine(Counter(), capacity=2, idle_limit=5), SessionMachine(Counter(), 2, 5)
    head = [first.apply(Command(c, s, b"")) for c, s in run[:cut]]
    second.restore(first.snapshot())
    tail = [second.apply(Command(c, s, b"")) for c, s in run[cut:]]
    assert head + tail == answers
    assert second.snapshot() == straight.snapshot()
