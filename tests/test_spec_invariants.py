"""Every named invariant, in every variant, catches a state built to violate it — and holds in Init."""

from __future__ import annotations

from typing import Any

import pytest

from paxiom.spec import fastpaxos, multipaxos, paxos
from paxiom.spec.paxos import M1a, M1b, M2a, M2b, MAny, State
from paxiom.spec.quorums import QuorumSystem

MAJ3 = QuorumSystem.majority(3)
CFG = paxos.Config(MAJ3, ("v1", "v2"), 2)
MODEL = paxos.PaxosModel(CFG)


def state(max_bal: tuple[int, ...], votes: tuple[tuple[int, str | None], ...], msgs: set[Any]) -> State:
    return State(max_bal, tuple(b for b, _ in votes), tuple(v for _, v in votes), frozenset(msgs))


NO_VOTES = ((-1, None),) * 3


def violated(model: Any, s: Any) -> set[str]:
    return {name for name, check in model.invariants.items() if check(s) is not None}


def test_init_satisfies_every_invariant() -> None:
    for model in (MODEL, multipaxos.MultiPaxosModel(multipaxos.Config(MAJ3, ("v1",), 1, slots=2))):
        assert violated(model, model.init()[0]) == set()


def test_type_ok_catches_ballot_out_of_range() -> None:
    s = state((3, -1, -1), NO_VOTES, set())
    assert "type_ok" in violated(MODEL, s)
    s = state((0, -1, -1), ((0, None), (-1, None), (-1, None)), set())
    assert "type_ok" in violated(MODEL, s)


def test_promise_monotonicity_catches_a_message_above_the_promise() -> None:
    s = state((0, -1, -1), NO_VOTES, {M1a(1), M1b(0, 1, -1, None)})
    assert violated(MODEL, s) == {"promise_monotonicity"}


def test_promise_monotonicity_catches_a_vote_above_the_promise() -> None:
    s = state((0, -1, -1), ((1, "v1"), (-1, None), (-1, None)), set())
    assert "promise_monotonicity" in violated(MODEL, s)


def test_promise_monotonicity_catches_a_lying_report() -> None:
    s = state((1, -1, -1), NO_VOTES, {M1a(1), M1b(0, 1, 0, "v1")})
    assert "promise_monotonicity" in violated(MODEL, s)


def test_promise_monotonicity_step_catches_a_lowered_promise() -> None:
    before = state((2, -1, -1), NO_VOTES, set())
    after = state((1, -1, -1), NO_VOTES, set())
    assert MODEL.step_invariants["promise_monotonicity"](before, after) is not None
    assert MODEL.step_invariants["promise_monotonicity"](after, before) is None


def test_one_value_per_ballot_catches_two_proposals() -> None:
    s = state((-1, -1, -1), NO_VOTES, {M2a(0, "v1"), M2a(0, "v2")})
    assert "one_value_per_ballot" in violated(MODEL, s)


def test_votes_safe_catches_a_vote_that_ignores_a_chosen_value() -> None:
    # v1 chosen at ballot 0 by a1, a2; a3 then votes v2 at ballot 1: unsafe, though nothing else is chosen yet
    msgs = {M2a(0, "v1"), M2b(0, 0, "v1"), M2b(1, 0, "v1"), M2a(1, "v2"), M2b(2, 1, "v2")}
    s = state((0, 0, 1), ((0, "v1"), (0, "v1"), (1, "v2")), msgs)
    assert "votes_safe" in violated(MODEL, s)
    assert "agreement" not in violated(MODEL, s)


def test_votes_safe_accepts_a_vote_once_the_lower_ballot_is_dead() -> None:
    # a2, a3 promised ballot 1 without voting at 0: nothing can be chosen at 0, so v2 is safe at 1
    msgs = {M1a(1), M1b(1, 1, -1, None), M1b(2, 1, -1, None), M2a(0, "v1"), M2b(0, 0, "v1"), M2a(1, "v2"),
            M2b(1, 1, "v2")}
    s = state((0, 1, 1), ((0, "v1"), (1, "v2"), (-1, None)), msgs)
    assert violated(MODEL, s) == set()


def test_agreement_and_validity_catch_two_chosen_values() -> None:
    msgs = {M2b(0, 0, "v1"), M2b(1, 0, "v1"), M2b(1, 1, "v2"), M2b(2, 1, "v2")}
    s = state((0, 1, 1), ((0, "v1"), (1, "v2"), (1, "v2")), msgs)
    assert paxos.chosen(CFG, s) == {"v1", "v2"}
    bad = violated(MODEL, s)
    assert {"agreement", "validity"} <= bad  # no 2a ever proposed them


def test_stability_catches_a_value_unchosen() -> None:
    chosen_state = state((0, 0, -1), ((0, "v1"), (0, "v1"), (-1, None)),
                         {M2a(0, "v1"), M2b(0, 0, "v1"), M2b(1, 0, "v1")})
    forgot = chosen_state._replace(msgs=frozenset({M2a(0, "v1"), M2b(0, 0, "v1")}))
    assert MODEL.step_invariants["stability"](chosen_state, forgot) is not None
    assert MODEL.step_invariants["stability"](forgot, chosen_state) is None


# ---------------------------------------------------------------- Multi-Paxos

MCFG = multipaxos.Config(MAJ3, ("v1", "v2"), 1, slots=2)
MMODEL = multipaxos.MultiPaxosModel(MCFG)


def mstate(max_bal: tuple[int, ...], msgs: set[Any], votes: dict[tuple[int, int], tuple[int, str]]) -> Any:
    vbal = tuple(tuple(votes.get((a, s), (-1, None))[0] for s in range(2)) for a in range(3))
    vval = tuple(tuple(votes.get((a, s), (-1, None))[1] for s in range(2)) for a in range(3))
    return multipaxos.State(max_bal, vbal, vval, frozenset(msgs))


def test_multipaxos_agreement_is_per_slot() -> None:
    # different values in different slots is fine; two in one slot is not
    fine = mstate((0, 0, -1), {multipaxos.M2a(0, 0, "v1"), multipaxos.M2a(0, 1, "v2"),
                               multipaxos.M2b(0, 0, 0, "v1"), multipaxos.M2b(1, 0, 0, "v1"),
                               multipaxos.M2b(0, 0, 1, "v2"), multipaxos.M2b(1, 0, 1, "v2")},
                  {(0, 0): (0, "v1"), (1, 0): (0, "v1"), (0, 1): (0, "v2"), (1, 1): (0, "v2")})
    assert violated(MMODEL, fine) == set()
    assert multipaxos.chosen(MCFG, fine) == {0: {"v1"}, 1: {"v2"}}
    split = mstate((1, 1, 1), {multipaxos.M2a(0, 0, "v1"), multipaxos.M2a(1, 0, "v2"),
                               multipaxos.M2b(0, 0, 0, "v1"), multipaxos.M2b(1, 0, 0, "v1"),
                               multipaxos.M2b(1, 1, 0, "v2"), multipaxos.M2b(2, 1, 0, "v2")},
                   {(0, 0): (0, "v1"), (1, 0): (1, "v2"), (2, 0): (1, "v2")})
    assert {"agreement", "votes_safe"} <= violated(MMODEL, split)


def test_multipaxos_promise_monotonicity_covers_every_slot() -> None:
    s = mstate((0, -1, -1), set(), {(0, 1): (1, "v1")})
    assert "promise_monotonicity" in violated(MMODEL, s)
    lying = mstate((1, -1, -1), {multipaxos.M1b(0, 1, ((-1, None), (1, "v1")))}, {})
    assert "promise_monotonicity" in violated(MMODEL, lying)


def test_multipaxos_type_ok_and_one_value_per_ballot() -> None:
    assert "type_ok" in violated(MMODEL, mstate((-1, -1, -1), {multipaxos.M2a(0, 5, "v1")}, {}))
    two = mstate((-1, -1, -1), {multipaxos.M2a(0, 1, "v1"), multipaxos.M2a(0, 1, "v2")}, {})
    assert "one_value_per_ballot" in violated(MMODEL, two)


def test_multipaxos_stability_and_validity() -> None:
    msgs = {multipaxos.M2b(0, 0, 1, "v1"), multipaxos.M2b(1, 0, 1, "v1")}
    s = mstate((0, 0, -1), msgs, {(0, 1): (0, "v1"), (1, 1): (0, "v1")})
    assert "validity" in violated(MMODEL, s)  # chosen in slot 1 but never proposed there
    assert MMODEL.step_invariants["stability"](s, s._replace(msgs=frozenset())) is not None


# ---------------------------------------------------------------- Fast Paxos

FAST = QuorumSystem.fast_paxos(4, 3, 3)
FCFG = fastpaxos.Config(FAST, ("v1", "v2"), 1, fast_ballots=frozenset({0}))
FMODEL = fastpaxos.FastPaxosModel(FCFG)


def test_fast_ballot_votes_may_differ_but_classic_ones_may_not() -> None:
    fast_collision = State((0, 0, -1, -1), (0, 0, -1, -1), ("v1", "v2", None, None),
                           frozenset({MAny(0), M2b(0, 0, "v1"), M2b(1, 0, "v2")}))
    assert violated(FMODEL, fast_collision) == set()
    classic = State((1, 1, -1, -1), (1, 1, -1, -1), ("v1", "v2", None, None),
                    frozenset({M2a(1, "v1"), M2b(0, 1, "v1"), M2b(1, 1, "v2")}))
    assert "one_value_per_ballot" in violated(FMODEL, classic)


def test_fast_chosen_needs_a_fast_quorum() -> None:
    two_votes = State((0, 0, -1, -1), (0, 0, -1, -1), ("v1", "v1", None, None),
                      frozenset({MAny(0), M2b(0, 0, "v1"), M2b(1, 0, "v1")}))
    assert paxos.chosen(FCFG, two_votes) == set()
    three = two_votes._replace(msgs=two_votes.msgs | {M2b(2, 0, "v1")})
    assert paxos.chosen(FCFG, three) == {"v1"}
    assert violated(FMODEL, three) & {"agreement", "validity"} == set()  # "any" makes client values valid


def test_fast_recovery_rule_forces_the_possibly_chosen_value() -> None:
    # a1,a2,a3 voted v1 at fast ballot 0 (a fast quorum: v1 is chosen); a leader of ballot 1 hears a1,a2,a4
    msgs = {M1a(0), MAny(0), M2b(0, 0, "v1"), M2b(1, 0, "v1"), M2b(2, 0, "v1"), M1a(1),
            M1b(0, 1, 0, "v1"), M1b(1, 1, 0, "v1"), M1b(3, 1, -1, None)}
    s = State((1, 1, 0, 1), (0, 0, 0, -1), ("v1", "v1", "v1", None), frozenset(msgs))
    assert fastpaxos.proposable(FCFG, s, 1) == {"v1"}
    assert fastpaxos.phase2a(FCFG, s, 1, "v2") is None
    assert fastpaxos.phase2a_any(FCFG, s, 1) is None  # ballot 1 is classic


@pytest.mark.parametrize("model", [MODEL, MMODEL, FMODEL])
def test_unknown_actions_and_acceptors_are_refused(model: Any) -> None:
    from paxiom.spec.model import act

    s = model.init()[0]
    with pytest.raises(ValueError, match="no action"):
        model.apply(s, act("Phase3", b=0))
    with pytest.raises(ValueError, match="unknown acceptor"):
        model.apply(s, act("Phase1b", a="zz", b=0))
    assert model.apply(s, act("Phase1b", a="a1", b=0)) is None  # no prepare sent yet: not enabled
