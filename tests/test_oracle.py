"""The refinement oracle: it accepts the core's behaviour and objects, precisely, to forged steps."""

from __future__ import annotations

import random
from collections.abc import Iterator
from functools import partial

import pytest

from paxiom.impl.ballot import Ballot
from paxiom.impl.fast import oracle as fast_oracle
from paxiom.impl.fast.oracle import FAST_PAXOS
from paxiom.impl.messages import Accept, Envelope, Nack, Prepare, Promise
from paxiom.impl.objection import Objection
from paxiom.impl.oracle import MULTIPAXOS, RefinementOracle, SlotRules, SlotView, Taken
from paxiom.impl.sim.runner import Execution, Faults, liveness_bound, schedule
from paxiom.impl.sim.simulator import ClusterSettings, Simulator, Step
from paxiom.impl.values import Command
from paxiom.spec import multipaxos as mp


def _run(settings: ClusterSettings, steps: int) -> Execution:
    execution = Execution(settings)
    adversary = schedule(execution.sim, random.Random(settings.seed), Faults())
    for _ in range(steps):
        assert execution.feed(next(adversary)), str(execution.result.objection)
    return execution


def test_replicas_converge_on_one_state_after_faults_stop() -> None:
    execution = _run(ClusterSettings(replicas=3, seed=21), 1500)
    assert execution.feed({"action": "quiesce", "rounds": 400})
    states = {kv.snapshot() for kv in execution.sim.states}
    assert len(states) == 1
    assert execution.oracle.actions_matched > 0 and execution.oracle.transitions > 1500


def test_a_bare_simulator_builds_no_records_and_runs_as_a_watched_one() -> None:
    settings = ClusterSettings(replicas=3, seed=4)
    bare, watched = Simulator(settings), Simulator(settings)
    handed: list[int] = []

    class Count:
        def on_records(self, replica: int, records: list[object]) -> None:
            handed.append(len(records))

        def end_step(self, index: int, step: Step) -> None:
            pass

    watched.watch(Count())
    assert all(h is not None and h.sink is None for h in bare.hosts)
    assert all(h is not None and h.sink is not None for h in watched.hosts)
    for sim in (bare, watched):
        adversary = schedule(sim, random.Random(4), Faults())
        for _ in range(1500):
            sim.step(next(adversary))
        sim.step({"action": "quiesce", "rounds": liveness_bound(sim)})
    assert bare.settled() and bare.last_quiesce == watched.last_quiesce > 0
    assert bare.network.next_id == watched.network.next_id
    assert bare.transitions == watched.transitions == len(handed) + settings.replicas and min(handed) > 0


def test_invariants_judge_new_messages_and_the_whole_state_once_a_promise_falls() -> None:
    oracle = _run(ClusterSettings(replicas=3, seed=21), 600).oracle
    template = oracle.template
    assert template.judged == template.state.max_bal and not template.fresh
    oracle._begin()
    forged = mp.M1b(0, 1, ((1, "x"),))  # below a0's promise, so only its report is wrong
    assert oracle._take(-1, template, 1, lambda cfg, s: s._replace(msgs=s.msgs | {forged}))
    assert template.fresh == {forged}
    with pytest.raises(Objection, match="reports a vote at or above the ballot it promises"):
        oracle._settle()

    oracle = _run(ClusterSettings(replicas=3, seed=21), 600).oracle
    template = oracle.template
    oracle._begin()
    sender = next(m for m in template.whole_state().msgs if m.type == "1b" and m.bal > 0)  # type: ignore[union-attr]
    fallen = tuple(-1 if a == sender.acc else b for a, b in enumerate(template.state.max_bal))  # type: ignore[union-attr]
    assert oracle._take(-1, template, None, lambda cfg, s: s._replace(max_bal=fallen))
    with pytest.raises(Objection, match="was sent above the sender's promise"):  # not only "went down"
        oracle._settle()


def _slot_actions(rules: SlotRules, view: SlotView, b: int) -> Iterator[Taken]:
    """Every action at ballot b the oracle takes in a slot projection, with each argument it can have."""
    yield lambda cfg, s: rules.phase1a(cfg, s, b)
    for a in view.cfg.acceptors:
        yield lambda cfg, s, a=a: rules.phase1b(cfg, s, a, b)  # type: ignore[misc]
        for v in view.cfg.values:
            yield lambda cfg, s, a=a, v=v: rules.phase2b(cfg, s, a, b, 0, v)  # type: ignore[misc]
    for v in view.cfg.values:
        yield lambda cfg, s, v=v: rules.phase2a(cfg, s, b, 0, v)  # type: ignore[misc]
    if rules is FAST_PAXOS:
        yield partial(fast_oracle._phase2a_any, b=b)


def _frames_agree(oracle: RefinementOracle, views: int) -> int:
    """Every action at every ballot up to one above the highest promise, in the template and `views` slot
    projections spread over the log, takes the whole state's verdict and adds its messages when taken in
    its ballot's frame. Returns how many were enabled."""
    rules: SlotRules = oracle.rules
    slots = oracle.slot_order[:: max(1, len(oracle.slot_order) // views)]
    enabled = 0
    for view in [oracle.template, *(oracle._view(slot) for slot in slots)]:
        whole = view.whole_state()
        for b in range(max(oracle.template.state.max_bal) + 2):
            frame = view.frame(b)
            for step in _slot_actions(rules, view, b):
                expected, framed = step(view.cfg, whole), step(view.cfg, frame)
                assert (framed is None) == (expected is None), (b, view.state)
                if expected is not None and framed is not None:
                    assert framed._replace(msgs=framed.msgs | whole.msgs) == expected
                    enabled += 1
    return enabled


@pytest.mark.parametrize("variant", ["multipaxos", "fastpaxos", "reconfig", "cheap"])
def test_every_action_reads_only_its_own_ballots_messages(variant: str) -> None:
    """`SlotView.frame`: each action at ballot b, taken with only ballot b's 1a and 1b messages, gives the
    whole state's verdict and adds the same messages, for every ballot, acceptor and value, in the slot
    projections (and the template) at three points of a run with many elections — reconfig and cheap judge
    with Multi-Paxos's rules over each slot's configuration."""
    settings = ClusterSettings(replicas=3, seed=21, variant=variant)
    execution = Execution(settings)
    oracle: RefinementOracle = execution.oracle
    assert oracle.rules is (FAST_PAXOS if variant == "fastpaxos" else MULTIPAXOS)
    adversary = schedule(execution.sim, random.Random(settings.seed), Faults())
    enabled = []
    for _ in range(3):
        for _ in range(300):
            assert execution.feed(next(adversary)), str(execution.result.objection)
        enabled.append(_frames_agree(oracle, views=8))
    assert min(enabled) > 10 and max(oracle.template.state.max_bal) > 5 and len(oracle.slot_order) > 3


def _inject(execution: Execution, envelope: Envelope) -> str:
    mid = execution.sim.network.send(None, envelope)
    assert not execution.feed({"action": "deliver", "msg": mid})
    assert execution.result.objection is not None
    return str(execution.result.objection)


def test_a_vote_nobody_proposed_is_not_a_spec_step() -> None:
    execution = Execution(ClusterSettings(replicas=3, seed=0))
    forged = Envelope(0, 1, Accept(Ballot(5, 0), 0, (Command("mallory", 1, b"set x 1"),)))
    # acceptor a2 votes for it, but no replica ever sent that 2a: the vote is no spec step
    reason = _inject(execution, forged)
    assert 'Phase2b(a=a2, b=15, slot=0, v=[mallory#1 "set x 1"])' in reason and "nobody proposed" in reason


def test_a_promise_that_hides_a_vote_is_named() -> None:
    execution = Execution(ClusterSettings(replicas=3, seed=3))
    adversary = schedule(execution.sim, random.Random(3), Faults.parse("none"))
    oracle = execution.oracle
    while not any(oracle.voted_by):
        assert execution.feed(next(adversary))
    a = next(a for a in range(3) if oracle.voted_by[a])
    slot = min(oracle.voted_by[a])
    ballot = Ballot(max(oracle.template.state.max_bal) // 3 + 1, a)
    # replica a stands for election and its promise (to itself) leaves out the vote it holds
    oracle._begin()
    oracle._match(Envelope(a, a, Prepare(ballot, 0)))
    with pytest.raises(
        Objection, match=rf"Phase1b\(a=a{a + 1}, .*slot {slot}, the replica's promise reports \(-1, None\)"
    ):
        oracle._match(Envelope(a, a, Promise(ballot, 0, ())))


def test_forged_vote_below_promise_is_refused_by_the_acceptor_not_the_oracle() -> None:
    execution = _run(ClusterSettings(replicas=3, seed=8), 600)
    dst, acceptor = next(
        (r, rep.acceptor)
        for r, rep in enumerate(execution.sim.replicas)
        if r and rep and rep.acceptor.promise > Ballot(0, 0)
    )
    promised = acceptor.promise
    stale = Envelope(0, dst, Accept(Ballot(0, 0), 10_000, (Command("mallory", 1, b"set y 2"),)))
    mid = execution.sim.network.send(None, stale)
    before = set(execution.sim.network.in_flight)
    # the acceptor answers with a Nack: nothing changes in the abstract state, the step is a stutter
    assert execution.feed({"action": "deliver", "msg": mid}), str(execution.result.objection)
    answers = [e for m, e in execution.sim.network.in_flight.items() if m not in before]
    assert answers == [Envelope(dst, 0, Nack(promised))]
    assert 10_000 not in acceptor.votes and acceptor.promise == promised
