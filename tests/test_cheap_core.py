"""Cheap Paxos in the core: auxiliaries vote only to retire a failed main (spec/cheap.py), in the core, under
the simulator's faults, and against its mutant."""

from __future__ import annotations

import random

import pytest
from test_reconfig_core import Cluster

from paxiom.impl.cheap.replica import RETIREMENT_CLIENT, CheapReplica, cheap_spec, retiring
from paxiom.impl.messages import Accept, Accepted, Envelope
from paxiom.impl.mutants import MUTANTS
from paxiom.impl.proposer import Role
from paxiom.impl.reconfig import config_command, encode_config, is_config, majority_of, switch_of
from paxiom.impl.reconfig_oracle import CheapOracle
from paxiom.impl.replica import Replica
from paxiom.impl.sim.cheap_failure import lose_a_main, main_replicas, victim
from paxiom.impl.sim.hunt import hunt
from paxiom.impl.sim.reconfigure import reconfigurations
from paxiom.impl.sim.runner import Execution, Faults, schedule
from paxiom.impl.sim.simulator import ClusterSettings
from paxiom.impl.values import Command
from paxiom.spec import cheap
from paxiom.spec.quorums import acceptor_names

GENESIS = majority_of(acceptor_names(3), range(3))
"""Two mains (a1, a2) and one auxiliary (a3): any two of the three, cheap's configuration 0."""
SPEC = cheap.Config(GENESIS, ("v",), 0, mains=2)


def test_two_mains_and_an_auxiliary_lose_a_main_and_carry_on() -> None:
    cluster = Cluster(GENESIS, alpha=1, auxiliaries=frozenset({2}))
    cluster.run(20)
    leader = cluster.leader()
    leader.submit(tuple(Command("c", s, f"set k{s} v".encode()) for s in range(1, 4)))
    cluster.run(5)
    cluster.down.add(0)  # a1, a main, fails for good
    cluster.run(30)
    leader = cluster.leader()
    retire = SPEC.configs[1]  # cfg1: main a1 retired, a2 alone
    leader.submit((config_command("admin", 1, retire, frozenset(SPEC.members[1] - SPEC.mains_of[1])),))
    cluster.run(5)
    leader = cluster.leader()
    before = leader.commit
    leader.submit(tuple(Command("c", s, f"set k{s} v".encode()) for s in range(4, 8)))
    cluster.run(10)
    assert leader.commit >= before + 4 and cluster.replicas[2].commit == leader.commit  # served by a2 alone
    votes = cluster.replicas[2].acceptor.votes.values()
    assert votes and all(v.value[0].op.startswith(b"paxiom/config") for v in votes)  # a3 voted the retirement only
    ordinary = [e for e in cluster.accepts if isinstance(e.msg, Accept) and not e.msg.value[0].op.startswith(b"paxiom")]
    assert ordinary and all(e.dst != 2 for e in ordinary)


def cheap_cluster(alpha: int) -> Cluster:
    """Two mains and one auxiliary running Cheap Paxos's replica (`impl.cheap`), messages in order."""
    cluster = Cluster(GENESIS, alpha=alpha, auxiliaries=frozenset({2}))
    cluster.replicas = [CheapReplica(replica.config) for replica in cluster.replicas]
    return cluster


def commands(first: int, last: int) -> tuple[Command, ...]:
    return tuple(Command("c", s, f"set k{s} v".encode()) for s in range(first, last + 1))


def chosen_commands(replica: Replica) -> list[Command]:
    return [c for s in range(replica.commit) for c in replica.learner.log[s].value if not is_config(c)]


@pytest.mark.parametrize("leader_fails", [False, True])
def test_the_leader_retires_a_main_that_stops_answering_and_the_other_main_carries_on(leader_fails: bool) -> None:
    cluster = cheap_cluster(alpha=4)
    cluster.run(20)
    cluster.leader().submit(commands(1, 3))
    cluster.run(5)
    failed = cluster.leader().me if leader_fails else 1 - cluster.leader().me
    cluster.down.add(failed)  # a main fails for good; no one asks for a reconfiguration
    cluster.run(30 if leader_fails else 1)  # a leader that fails idle is succeeded by the other main
    cluster.leader().submit(commands(4, 7))  # in flight to the failed main
    cluster.run(60)
    leader = cluster.leader()
    cluster.leader().submit(commands(8, 12))
    cluster.run(20)
    assert chosen_commands(leader) == list(commands(1, 12))  # those in flight too, without a client's retry
    retired = encode_config(SPEC.configs[next(k for k in range(1, 3) if failed not in SPEC.members[k])])
    switches = [switch_of(leader.learner.log[s].value) for s in range(leader.commit)]
    assert {None if qs is None else encode_config(qs) for qs in switches} == {None, retired}
    auxiliary = cluster.replicas[2]
    assert not auxiliary.learner.log and auxiliary.commit == 0 and auxiliary.role is Role.FOLLOWER  # stores no log
    votes = [switch_of(v.value) for v in auxiliary.acceptor.votes.values()]
    assert votes and all(qs is not None and encode_config(qs) == retired for qs in votes)  # retirements only
    late = [e for e in cluster.accepts if e.msg.slot >= leader.commit - 5]  # type: ignore[union-attr]
    assert late and all(e.dst == leader.me for e in late)  # the survivor alone decides now


def test_cheap_runs_hold_under_faults_and_retire_mains() -> None:
    for replicas, seed in ((3, 0), (5, 3)):
        settings = ClusterSettings(replicas=replicas, seed=seed, variant="cheap")
        execution = Execution(settings)
        oracle = execution.oracle
        assert isinstance(oracle, CheapOracle)
        adversary = reconfigurations(settings, schedule(execution.sim, random.Random(seed), Faults()))
        for _ in range(3000):
            assert execution.feed(next(adversary)), str(execution.result.objection)
        assert execution.feed({"action": "quiesce", "rounds": 600}), str(execution.result.objection)
        assert set(oracle.conf.values()) - {0}, "no slot was decided under a retirement"
        assert any(RETIREMENT_CLIENT in shown for shown in oracle.switches), "no leader retired a silent main"


@pytest.mark.parametrize("name", ["cheap-aux-votes-commands", "cheap-retire-keeps-auxiliaries"])
def test_an_auxiliary_voting_an_ordinary_command_is_caught_by_cheaps_rule(name: str) -> None:
    """Both bugs end with an auxiliary's vote for an ordinary command: asked for one, or for a retirement
    whose configuration the core refuses as a switch (its quorums need not meet)."""
    found = hunt(MUTANTS[name], runs=8, shrink_seconds=0).found
    assert found is not None and found.objection is not None and found.settings.variant == "cheap"
    assert found.objection.check.startswith("Phase2b") and "one of its auxiliaries" in found.objection.reason


@pytest.mark.parametrize("mains", [3, 4])
def test_three_mains_or_more_lose_one_with_commands_in_flight_and_carry_on(mains: int) -> None:
    """A surviving main that does not lead may vote a command the failed one never will; re-proposing it
    would wait for the failed main for good. The leader retiring it waits for the promises that leave such a
    slot free (the auxiliaries' and its own: a phase-1 quorum with no vote there) and gives it the
    retirement; the log goes on, every step judged by the Cheap oracle (bench/cheap_liveness.py: over seeds)."""
    run = lose_a_main(mains, seed=1, after=3000)
    assert run.retired and run.progressed, run


def test_a_duplicated_vote_of_the_other_main_makes_the_leader_vote_once() -> None:
    """The leader votes last: the other main's Accepted makes its own vote due. A copy of that Accepted (a
    duplicate, or a retransmission's answer) while its own vote is being synced must not cast it again (a
    second SaveVote for the disk, a second Accepted)."""
    cluster = cheap_cluster(alpha=4)
    cluster.run(20)
    leader = cluster.leader()
    other = 1 - leader.me
    leader.submit(commands(1, 1))
    accept = next(e.msg for e in leader.ready().deliveries if isinstance(e.msg, Accept) and e.dst == other)
    vote = Accepted(accept.ballot, accept.slot, accept.value)
    own: list[Envelope] = []
    for _ in range(2):
        leader.receive(Envelope(other, leader.me, vote))
        own += [e for e in leader.ready().emitted if isinstance(e.msg, Accept) and e.dst == leader.me]
    assert len(own) == 1


@pytest.mark.parametrize("repaired", [True, False])
def test_three_mains_lose_two_one_after_another(repaired: bool) -> None:
    """Three mains and two auxiliaries. A main fails and is retired (configuration k); then another main
    fails. If the first was repaired and restarted, the leader retires the second too, from configuration k,
    by cheap's `cfgj`, which brings main k back, and the log goes on. If not, that retirement would only swap
    one failed main for another (spec/cheap.py has no configuration without two mains): the leader proposes
    none, and keeps its ballot. Every step is judged by the Cheap oracle."""
    settings = ClusterSettings(replicas=5, seed=1, variant="cheap")
    execution = Execution(settings)
    steps = schedule(execution.sim, random.Random(1), Faults(frozenset()))
    retired: list[int] = []
    for _ in range(2):
        failed = None
        while failed is None:
            assert execution.feed(next(steps)), str(execution.result.objection)
            failed = victim(execution)
        assert execution.feed({"action": "crash", "replica": failed})
        retired.append(failed)
        for _ in range(3000):
            assert execution.feed(next(steps)), str(execution.result.objection)
        if repaired:
            assert execution.feed({"action": "restart", "replica": failed})  # a spare main again
    mains = [rep for _, rep in main_replicas(execution)]
    leader = next(rep for rep in mains if rep.role is Role.LEADER)
    spec = cheap_spec(leader.config)
    layouts = [encode_config(qs) for qs in spec.configs]
    switched = [layouts.index(encode_config(e.quorums)) for e in leader.configs.epochs]
    switched = [k for i, k in enumerate(switched) if not i or k != switched[i - 1]]  # one per retirement's copies
    assert switched == [0, *(retiring(spec, main) for main in retired[: 1 + repaired])], (retired, switched)
    start, ballot = leader.commit, leader.proposer.ballot
    for _ in range(1000):
        assert execution.feed(next(steps)), str(execution.result.objection)
    if repaired:
        assert leader.commit > start + settings.alpha  # configuration retired[1] decides: main retired[0] is back
    else:  # it waits to hear from main retired[0], without standing again and again meanwhile
        assert leader.role is Role.LEADER and leader.proposer.ballot == ballot
