"""Fast Paxos in the implementation: fast path, collisions and recovery, judged against spec/fastpaxos.py."""

from __future__ import annotations

import collections
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from paxiom.cli.main import main
from paxiom.impl.ballot import Ballot
from paxiom.impl.config import ReplicaConfig
from paxiom.impl.fast.oracle import FastRounds, to_fast, to_slot
from paxiom.impl.fast.replica import CLASSIC_SLOTS, FastReplica, is_fast, smallest_fast_quorum
from paxiom.impl.messages import Accepted, AnyFrom, Chosen, Envelope, Message, Prepare, Propose
from paxiom.impl.observe import Sent, from_json
from paxiom.impl.proposer import Role
from paxiom.impl.sim.runner import Execution, Faults, run
from paxiom.impl.sim.simulator import ClusterSettings
from paxiom.impl.values import Command, Value
from paxiom.spec import multipaxos as mp
from paxiom.spec.paxos import M1a
from paxiom.spec.quorums import QuorumSystem, Threshold, acceptor_names, quorum_intersection


def test_smallest_fast_quorum_is_the_smallest_the_intersection_condition_allows() -> None:
    for n in range(1, 8):
        for q1 in range(n // 2 + 1, n + 1):
            k = smallest_fast_quorum(n, q1)
            assert quorum_intersection(fast_system(n, q1, k)) is None
            assert k == 1 or quorum_intersection(fast_system(n, q1, k - 1)) is not None
    assert (smallest_fast_quorum(3, 2), smallest_fast_quorum(5, 3)) == (3, 4)


def fast_system(n: int, q1: int, fast: int) -> QuorumSystem:
    nodes = acceptor_names(n)
    return QuorumSystem(Threshold(nodes, q1), Threshold(nodes, q1), Threshold(nodes, fast))


def test_fast_ballots_are_the_even_rounds_for_impl_and_oracle_alike() -> None:
    rounds = FastRounds(3)
    for round in range(4):
        for replica in range(3):
            ballot = Ballot(round, replica)
            assert (ballot.to_int(3) in rounds) == is_fast(ballot) == (round % 2 == 0)
    assert -1 not in rounds and rounds == FastRounds(3) != FastRounds(5)


def test_a_slot_projection_converts_to_the_fast_spec_and_back() -> None:
    msgs = frozenset({M1a(4), mp.M1b(0, 4, ((2, "x"),)), mp.M2a(4, 0, "x"), mp.M2b(1, 4, 0, "x")})
    state = mp.State((4, 4), ((2,), (4,)), (("x",), ("x",)), msgs)
    fast = to_fast(state)
    assert fast.max_vbal == (2, 4) and {m.type for m in fast.msgs} == {"1a", "1b", "2a", "2b"}
    assert to_slot(fast) == state


@pytest.mark.parametrize("seed", [1, 2])
def test_a_faulty_run_takes_the_fast_path_recovers_from_collisions_and_holds(seed: int, tmp_path: Path) -> None:
    result = run(ClusterSettings(replicas=5, seed=seed, variant="fastpaxos"), 1500, Faults(), trace_dir=tmp_path)
    assert result.objection is None, str(result.objection)
    assert result.liveness_rounds is not None
    sent: collections.Counter[str] = collections.Counter()
    for trace in tmp_path.iterdir():
        for line in trace.read_text().splitlines():
            record = from_json(json.loads(line))
            if isinstance(record, Sent):
                sent[kind(record.envelope.msg)] += 1
    assert sent["AnyFrom"] and sent["Propose"] and sent["Accepted fast"] > sent["Accepted classic"]
    assert sent["Prepare classic"], "no collision was recovered from"


def kind(msg: Message) -> str:
    """A message's type, and for votes and prepares whether their ballot is fast."""
    name = type(msg).__name__
    if isinstance(msg, Accepted | Prepare):
        return name + (" fast" if is_fast(msg.ballot) else " classic")
    return name


def collide(lost: Callable[[Envelope], bool] = lambda e: False) -> tuple[Execution, FastReplica, Callable[[], None]]:
    """Five replicas, a1 leading a fast ballot, and two clients' commands colliding in slot 0: a1 and a5 are
    their gateways; a3 and a4 hear a5's command first, a2 hears a1's; the relays `lost` picks are dropped.
    Returns the run, its leader and a `deliver()` of everything in flight."""
    execution = Execution(ClusterSettings(replicas=5, variant="fastpaxos"))
    sim = execution.sim

    def deliver(first: Callable[[Envelope], bool] = lambda e: False) -> None:
        """Deliver every message in flight, those `first` picks before the others, until none is left."""
        while flight := sorted(sim.network.in_flight, key=lambda m: not first(sim.network.in_flight[m])):
            envelope = sim.network.in_flight[flight[0]]
            step = "drop" if isinstance(envelope.msg, Propose) and lost(envelope) else "deliver"
            assert execution.feed({"action": step, "msg": flight[0]}), str(execution.result.objection)

    for _ in range(4 * sim.settings.election_timeout):
        if sim.hosts[0] is not None and sim.hosts[0].replica.role is Role.LEADER:
            break
        execution.feed({"action": "tick", "replica": 0})
        deliver()
    leader = sim.hosts[0].replica if sim.hosts[0] is not None else None
    assert isinstance(leader, FastReplica) and leader.role is Role.LEADER and is_fast(leader.proposer.ballot)
    execution.feed({"action": "submit", "replica": 0, "client": "c1", "seq": 1, "command": "set a 1"})
    execution.feed({"action": "submit", "replica": 4, "client": "c2", "seq": 1, "command": "set b 2"})
    deliver(first=lambda e: isinstance(e.msg, Propose) and e.src == 4 and e.dst in (2, 3))
    assert not is_fast(leader.proposer.ballot), "the leader did not fall back to a classic ballot"
    return execution, leader, deliver


def test_a_collision_is_detected_and_recovered_through_a_classic_ballot() -> None:
    execution, leader, deliver = collide()
    sim = execution.sim
    execution.feed({"action": "quiesce", "rounds": 100})
    assert all(state.data == {"a": "1", "b": "2"} for state in sim.states)
    # it stays classic for CLASSIC_SLOTS new slots, then tries a fast ballot again
    assert leader.proposer.recovered_below == leader.commit + CLASSIC_SLOTS
    for seq in range(1, CLASSIC_SLOTS + 1):
        assert not is_fast(leader.proposer.ballot)
        execution.feed({"action": "submit", "replica": 1, "client": "c3", "seq": seq, "command": f"set c {seq}"})
        execution.feed({"action": "quiesce", "rounds": 100})
    execution.feed({"action": "tick", "replica": 0})
    deliver()
    result = execution.finish()
    assert result.objection is None, str(result.objection)
    assert is_fast(leader.proposer.ballot) and leader.role is Role.LEADER, "the leader did not return to a fast ballot"


def test_two_collided_commands_are_each_chosen_once_without_a_clients_retry() -> None:
    """The burst collides in slots 0 and 1, and the recovery gives each slot one of the two commands. The
    leader queues slot 0's loser for a new slot, but slot 1 re-proposes it: it leaves the queue then, where it
    used to be chosen a second time, in slot 2 (nothing is resubmitted here)."""
    execution, leader, deliver = collide()
    for _ in range(3 * execution.sim.settings.election_timeout):
        for r in range(5):
            assert execution.feed({"action": "tick", "replica": r}), str(execution.result.objection)
        deliver()
    chosen = [c.op for s in range(leader.commit) for c in leader.learner.log[s].value]
    assert sorted(chosen) == [b"set a 1", b"set b 2"]


def test_the_command_that_lost_a_collision_in_its_only_slot_is_chosen_in_a_new_one() -> None:
    """a5's relays to a1 and a2 are lost: its command is voted in slot 0 only (by a3, a4 and a5), where the
    recovery gives the slot a1's (as it gives slot 1, where a1's is all there is). The leader queues a5's
    for a new slot, so its client need not retry."""
    execution, leader, deliver = collide(lost=lambda e: e.src == 4 and e.dst in (0, 1))
    for _ in range(3 * execution.sim.settings.election_timeout):
        for r in range(5):
            assert execution.feed({"action": "tick", "replica": r}), str(execution.result.objection)
        deliver()
    chosen = [c.op for s in range(leader.commit) for c in leader.learner.log[s].value]
    assert b"set a 1" in chosen and b"set b 2" in chosen, chosen


def test_paxiom_sim_runs_the_fast_variant_and_refuses_unsafe_fast_quorums() -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["sim", "--variant", "fastpaxos", "--replicas", "3", "--steps", "400", "--json"])
    doc = json.loads(ok.stdout)
    assert ok.exit_code == 0 and doc["holds"] is True and doc["variant"] == "fastpaxos"
    unsafe = runner.invoke(main, ["sim", "--variant", "fastpaxos", "--replicas", "5", "--fast", "3"])
    assert unsafe.exit_code == 2 and "phase-1 x fast x fast intersection fails" in unsafe.output
    assert runner.invoke(main, ["sim", "--fast", "3"]).exit_code == 2


def test_a_retried_command_is_voted_again_once_its_votes_slot_is_chosen() -> None:
    """An acceptor votes a client's retry again only once the slot of its first vote is known chosen: for
    another value (a fast quorum that never collided, so no recovery re-proposes it), or for this one (the
    client lost its answer); before that the retry is the same vote. Otherwise the command waits for the next
    ballot, and its client times out meanwhile."""
    config = ReplicaConfig(replica_id=0, quorums=fast_system(4, 3, 3))
    replica = FastReplica(config)
    replica.receive(Envelope(1, 0, AnyFrom(Ballot(0, 1), 0)))
    replica.ready()

    def votes() -> list[tuple[int, Value]]:
        return sorted({(e.msg.slot, e.msg.value) for e in replica.ready().messages if isinstance(e.msg, Accepted)})

    mine, theirs = (Command("c1", 1, b"x"),), (Command("c2", 1, b"y"),)
    assert replica.propose(mine) and votes() == [(0, mine)]
    assert replica.propose(mine) and votes() == []  # slot 0 may still choose it
    replica.receive(Envelope(1, 0, Chosen(0, theirs)))
    assert replica.propose(mine) and votes() == [(1, mine)]
    assert replica.propose(mine) and votes() == []
    replica.receive(Envelope(1, 0, Chosen(1, mine)))
    assert replica.propose(mine) and votes() == [(2, mine)]
