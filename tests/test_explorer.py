"""The explorer proves small models safe, finds shortest violations on broken quorums, and replays traces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paxiom import trace as tracefile
from paxiom.explorer import explore, replay
from paxiom.spec.model import act
from paxiom.spec.paxos import M2b
from paxiom.spec.quorums import QuorumSystem
from paxiom.variants import build_model

SAFE = [
    ("paxos", QuorumSystem.majority(3), {"max_ballot": 1}),
    ("paxos", QuorumSystem.flexible(4, 3, 2), {"max_ballot": 1}),
    ("multipaxos", QuorumSystem.majority(3), {"max_ballot": 1, "slots": 1}),
    ("fastpaxos", QuorumSystem.fast_paxos(3, 2, 3), {"max_ballot": 1, "fast_ballots": [0]}),
]
UNSAFE = [
    ("paxos", QuorumSystem.flexible(3, 1, 2), {"max_ballot": 1}),
    ("multipaxos", QuorumSystem.flexible(3, 1, 2), {"max_ballot": 1, "slots": 1}),
    # fast quorums of 2 out of 3 break the three-way condition: two fast quorums and a phase-1 quorum
    ("fastpaxos", QuorumSystem.fast_paxos(3, 2, 2), {"max_ballot": 1, "fast_ballots": [0]}),
]


def model(variant: str, qs: QuorumSystem, constants: dict[str, Any]) -> Any:
    return build_model(variant, qs, values=["v1", "v2"], **constants)


@pytest.mark.parametrize(("variant", "qs", "constants"), SAFE)
def test_safe_configurations_have_no_violation(variant: str, qs: QuorumSystem, constants: dict[str, Any]) -> None:
    m = model(variant, qs, constants)
    result = explore(m)
    assert result.violation is None and result.complete
    assert m.config_violation is None
    assert result.distinct_states > 100 and result.generated >= result.distinct_states


@pytest.mark.parametrize(("variant", "qs", "constants"), UNSAFE)
def test_broken_quorums_lead_to_two_chosen_values(variant: str, qs: QuorumSystem, constants: dict[str, Any]) -> None:
    m = model(variant, qs, constants)
    assert m.config_violation is not None
    result = explore(m, only=["agreement"])
    assert result.violation is not None and result.violation.invariant == "agreement"
    final = result.violation.trace[-1].state
    assert m.invariants["agreement"](final) is not None
    # every earlier state on the trace satisfies agreement: the trace ends at the first violation
    assert all(m.invariants["agreement"](step.state) is None for step in result.violation.trace[:-1])
    # checking all invariants finds an unsafe vote no later than the two chosen values
    first = explore(m).violation
    assert first is not None and len(first.trace) <= len(result.violation.trace)


def test_shortest_trace_is_shortest() -> None:
    """Breadth-first: no state violating agreement is reachable in fewer steps than the trace found."""
    m = model("paxos", QuorumSystem.flexible(3, 1, 2), {"max_ballot": 1})
    violation = explore(m, only=["agreement"]).violation
    assert violation is not None
    depth = len(violation.trace) - 1
    frontier = set(m.init())
    for _ in range(depth - 1):
        frontier = {t for s in frontier for _, t in m.next(s)}
        assert all(m.invariants["agreement"](s) is None for s in frontier)


def test_trace_file_round_trip(tmp_path: Path) -> None:
    m = model("paxos", QuorumSystem.flexible(3, 1, 2), {"max_ballot": 1})
    violation = explore(m, only=["agreement"]).violation
    assert violation is not None
    actions = [s.action for s in violation.trace if s.action is not None]
    path = tmp_path / "run.json"
    tracefile.dump(m, actions, path)
    loaded, loaded_actions = tracefile.load(path)
    assert loaded_actions == actions and loaded.variant == "paxos"
    trace, violations = replay(loaded, loaded_actions)
    assert "agreement" in {v.invariant for v in violations}
    assert trace[-1].state == violation.trace[-1].state


def test_replay_refuses_an_action_the_spec_cannot_take() -> None:
    m = model("paxos", QuorumSystem.majority(3), {"max_ballot": 1})
    with pytest.raises(ValueError, match="step 1, Phase2b"):
        replay(m, [act("Phase2b", a="a1", b=0, v="v1")])


RAFT = ('{"variant": "raft", "constants": {"nodes": ["a"], "phase1": [["a"]], "phase2": [["a"]], "values": ["v"], '
        '"max_ballot": 0}, "steps": []}')


@pytest.mark.parametrize("doc", ["{", '{"variant": "paxos"}', RAFT])
def test_bad_trace_files_are_clear_errors(tmp_path: Path, doc: str) -> None:
    from paxiom.errors import PaxiomError

    path = tmp_path / "bad.json"
    path.write_text(doc)
    with pytest.raises(PaxiomError):
        tracefile.load(path)


def test_max_states_bounds_the_search() -> None:
    result = explore(model("paxos", QuorumSystem.majority(3), {"max_ballot": 2}), max_states=500)
    assert not result.complete and result.distinct_states == 500


def test_explorer_catches_a_spec_bug() -> None:
    """Inject a bug into the acceptor (vote below the promise): the explorer must find it."""
    from paxiom.spec import paxos

    m = model("paxos", QuorumSystem.majority(3), {"max_ballot": 1})

    def buggy_phase2b(cfg: Any, s: Any, a: int, b: int, v: str) -> Any:
        if paxos.M2a(b, v) not in s.msgs:
            return None
        return s._replace(max_vbal=(*s.max_vbal[:a], b, *s.max_vbal[a + 1:]),
                          max_val=(*s.max_val[:a], v, *s.max_val[a + 1:]), msgs=s.msgs | {M2b(a, b, v)})

    class Buggy(type(m)):  # type: ignore[misc]
        def next(self, s: Any) -> Any:
            yield from super().next(s)
            for msg in s.msgs:
                if msg.type == "2a":
                    for a in self.cfg.acceptors:
                        yield act("Phase2b", a=a, b=msg.bal, v=msg.val), buggy_phase2b(self.cfg, s, a, msg.bal, msg.val)

    result = explore(Buggy(m.cfg))
    assert result.violation is not None
    assert result.violation.invariant in {"promise_monotonicity", "votes_safe", "agreement"}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 10_000), max_size=40), st.sampled_from(["paxos", "multipaxos", "fastpaxos"]))
def test_random_walks_keep_every_invariant(choices: list[int], variant: str) -> None:
    """Long random runs on a safe configuration: every state and step satisfies every invariant."""
    qs = QuorumSystem.fast_paxos(4, 3, 3) if variant == "fastpaxos" else QuorumSystem.majority(4)
    m = build_model(variant, qs, values=["v1", "v2", "v3"], max_ballot=4, slots=2, fast_ballots=[0, 2])
    s = m.init()[0]
    for choice in choices:
        successors = list(m.next(s))
        if not successors:
            break  # every ballot used up: the run is over
        action, t = successors[choice % len(successors)]
        assert m.apply(s, action) == t, f"replaying {action} disagrees with the explorer"
        for name, check in m.step_invariants.items():
            assert check(s, t) is None, name
        for name, check in m.invariants.items():
            assert check(t) is None, name
        s = t


def test_json_trace_is_self_contained(tmp_path: Path) -> None:
    m = model("fastpaxos", QuorumSystem.fast_paxos(3, 2, 2), {"max_ballot": 1, "fast_ballots": [0]})
    violation = explore(m, only=["agreement"]).violation
    assert violation is not None
    path = tmp_path / "fast.json"
    tracefile.dump(m, [s.action for s in violation.trace if s.action], path)
    doc = json.loads(path.read_text())
    assert doc["variant"] == "fastpaxos" and doc["constants"]["fast_ballots"] == [0]
    assert any(step["action"] == "Phase2bAny" for step in doc["steps"])


def test_explorer_finds_the_fast_recovery_bug_the_proof_found(monkeypatch: pytest.MonkeyPatch) -> None:
    """An earlier spec let a leader choose freely after a fast ballot whose leader had sent a plain 2a.
    Put that rule back: on a model with a fast ballot after a classic one, the explorer finds the unsafe vote."""
    from paxiom.spec import fastpaxos, voting

    def free_after_any_fast_ballot(cfg: fastpaxos.Config, reports_of_q: dict[int, Any]) -> set[str] | None:
        top, vals = voting.highest_vote(list(reports_of_q.values()))
        if top < 0:
            return None
        if not cfg.is_fast(top):
            return vals
        assert cfg.quorums.fast is not None
        fast = cfg.quorums.fast.minimal_quorums
        o4 = {w for w in vals for r in fast if all(reports_of_q[a] == (top, w) for a in reports_of_q if r >> a & 1)}
        return o4 or None

    m = build_model("fastpaxos", QuorumSystem.fast_paxos(3, 2, 3), values=["v1", "v2"], max_ballot=2,
                    fast_ballots=[1])
    monkeypatch.setattr(fastpaxos, "recoverable", free_after_any_fast_ballot)
    violation = explore(m, only=["votes_safe"]).violation
    assert violation is not None and violation.invariant == "votes_safe"
    assert str(violation.trace[-2].action) == "Phase2a(b=2, v=v2)"
