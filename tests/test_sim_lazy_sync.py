"""A disk whose syncs lag its writes gives the oracle a tooth for a host that counts its own vote (or
promise) before the sync: the simulator's default disk is durable at once, so no crash can fall between a
write and its sync and such a bug goes unnoticed there."""

from __future__ import annotations

from dataclasses import replace

from paxiom.impl.ballot import NULL_BALLOT
from paxiom.impl.messages import Prepare
from paxiom.impl.mutants import MUTANTS, Mutation
from paxiom.impl.sim.disk import LazyStorage
from paxiom.impl.sim.hunt import hunt
from paxiom.impl.sim.runner import replay
from paxiom.impl.sim.simulator import ClusterSettings, Simulator, Step
from paxiom.impl.storage import SavePromise

LAZY = ClusterSettings(replicas=3, seed=4, lazy_sync=True)
BUG = frozenset({Mutation.OWN_REPLY_BEFORE_SYNC})


def campaign_then_power_cut() -> list[Step]:
    """Replica 0 ticks until it campaigns, and loses power before its next tick would sync its promise;
    then it restarts and the cluster settles."""
    sim = Simulator(LAZY)
    host = sim.hosts[0]
    assert host is not None and isinstance(host.storage, LazyStorage)
    ticks: list[Step] = []
    while not host.storage.pending:
        assert len(ticks) < 10 * LAZY.election_timeout, "replica 0 never campaigned"
        ticks.append({"action": "tick", "replica": 0})
        sim.step(ticks[-1])
    assert any(isinstance(w, SavePromise) for w in host.storage.pending)
    # the Prepares wait for the candidate's promise to sync
    assert not any(isinstance(e.msg, Prepare) for e in sim.network.in_flight.values())
    sim.step({"action": "crash", "replica": 0})
    assert sim.disks[0].promise == NULL_BALLOT, "the crash kept a write that was never synced"
    return [
        *ticks,
        {"action": "crash", "replica": 0},
        {"action": "restart", "replica": 0},
        {"action": "quiesce", "rounds": 300},
    ]


def test_a_power_cut_loses_unsynced_writes_and_the_core_holds() -> None:
    steps = campaign_then_power_cut()
    result = replay(LAZY, steps)
    assert result.objection is None, str(result.objection)
    assert result.liveness_rounds is not None


def test_the_oracle_catches_a_replica_counting_its_own_promise_before_the_sync() -> None:
    steps = campaign_then_power_cut()
    caught = replay(replace(LAZY, mutations=BUG), steps).objection
    assert caught is not None and caught.check not in ("local-invariant", "replica-failed"), str(caught)
    # on a disk durable at once the same bug, under the same schedule, is invisible
    assert replay(replace(LAZY, mutations=BUG, lazy_sync=False), steps).objection is None


def test_the_hunt_runs_the_mutant_on_a_lazy_disk_and_the_bug_alone_explains_the_failure() -> None:
    assert MUTANTS[Mutation.OWN_REPLY_BEFORE_SYNC.value].lazy_sync
    found = hunt(MUTANTS[Mutation.OWN_REPLY_BEFORE_SYNC.value], runs=4, shrink_seconds=0).found
    assert found is not None and found.objection is not None and found.settings.lazy_sync
    assert found.objection.check not in ("local-invariant", "replica-failed"), str(found.objection)
    plain = replay(replace(found.settings, mutations=frozenset()), found.steps)
    assert plain.objection is None, str(plain.objection)


def test_lazy_sync_survives_the_settings_round_trip() -> None:
    assert ClusterSettings.from_json(LAZY.to_json()) == LAZY
