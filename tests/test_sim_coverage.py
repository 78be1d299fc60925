"""Coverage counters, swarm and biased schedules, the quiet-period liveness check, availability."""

from __future__ import annotations

import json
import random

import pytest
from click.testing import CliRunner

from paxiom.cli.main import main
from paxiom.impl.messages import Accept, Accepted
from paxiom.impl.mutants import MUTANTS, Mutation
from paxiom.impl.proposer import Role
from paxiom.impl.sim import tactics
from paxiom.impl.sim.coverage import COUNTERS
from paxiom.impl.sim.hunt import Schedule, hunt
from paxiom.impl.sim.runner import QUIET_ROUNDS, Execution, Faults, Mix, quiet_bound, run, schedule
from paxiom.impl.sim.simulator import ClusterSettings


def _calm_cluster(replicas: int, mutations: frozenset[Mutation] = frozenset()) -> Execution:
    """A cluster that elected a leader and committed some commands, without faults."""
    execution = Execution(ClusterSettings(replicas=replicas, seed=1, mutations=mutations), coverage=True)
    adversary = schedule(execution.sim, random.Random(0), Faults.parse("none"))
    for _ in range(300):
        assert execution.feed(next(adversary))
    return execution


@pytest.mark.parametrize(
    ("counter", "replicas"),
    [
        ("takeover_mixed_ballots", 3),
        ("recovered_vote_differs", 3),
        ("competing_leaders", 3),
        ("deposed_with_accepts_in_flight", 3),
        ("same_round_competition", 5),
        ("crash_between_write_and_send", 3),
        ("catchup_races_snapshot", 3),
        ("takeover_with_hole", 3),
        ("late_answer", 3),
        ("duplicate_vote", 5),
        ("repeat_prepare", 3),
    ],
)
def test_each_tactic_reaches_its_interleaving_and_the_oracle_agrees(counter: str, replicas: int) -> None:
    execution = _calm_cluster(replicas)
    coverage = execution.coverage
    assert coverage is not None and coverage.counts == dict.fromkeys(COUNTERS, 0)  # a calm cluster reaches none
    rng, work = random.Random(3), tactics.Workload()
    work.number = 10_000
    for _ in range(4):
        for step in tactics.TACTICS[counter](execution.sim, rng, Faults(), coverage, work):
            assert execution.feed(step), execution.result.objection
    assert coverage.counts[counter] > 0


@pytest.mark.parametrize(
    ("mutation", "check", "asks"),
    [
        (None, None, True),
        (Mutation.SKIP_HOLES, "liveness", False),  # the hole holds every commit index back
        (Mutation.CATCHUP_ONLY_ON_TRAFFIC, "quiet-liveness", False),
    ],
)
def test_the_finale_leaves_damage_only_the_quiet_period_and_final_check_see(
    mutation: Mutation | None, check: str | None, asks: bool
) -> None:
    """A hole under a leader that stays, and a follower that missed slots with no command to wake it: the
    production core fills the hole, and the follower asks to catch up and refuses the corrupted reply."""
    execution = _calm_cluster(3, frozenset() if mutation is None else frozenset({mutation}))
    assert execution.coverage is not None
    work = tactics.Workload()
    work.number = 10_000
    for step in tactics.finale(execution.sim, random.Random(2), Faults(), execution.coverage, work):
        assert execution.feed(step), str(execution.result.objection)
    assert execution.coverage.counts["takeover_with_hole"] > 0
    assert any(step["action"] == "corrupt" for step in execution.result.steps) == asks
    assert bool(execution.sim.alarms) == asks
    if execution.feed({"action": "quiet", "rounds": QUIET_ROUNDS}):
        execution.feed({"action": "quiesce", "rounds": 100})
    objection = execution.result.objection
    assert (objection.check if objection else None) == check, str(objection)


@pytest.mark.parametrize(
    ("name", "swarm"), [("promise-on-equal-ballot", False), ("mixed-ballot-votes", False), ("skip-holes", True)]
)
def test_bias_finds_the_hardest_mutants_in_a_few_runs(name: str, swarm: bool) -> None:
    """Uniform hunts need 5 to 35 runs of 3000 steps for these (docs/simulation.md); biased ones, 4 at most."""
    found = hunt(MUTANTS[name], runs=4, shrink_seconds=0, schedules=(Schedule(swarm, bias=True),))
    assert found.found is not None, f"{name} survived {found.runs} biased runs"
    assert found.found.objection is not None


def test_counting_watches_and_changes_nothing() -> None:
    settings = ClusterSettings(replicas=3, seed=5)
    plain = run(settings, 1500, Faults())
    counted = run(settings, 1500, Faults(), coverage=True)
    assert counted.steps == plain.steps and counted.transitions == plain.transitions
    assert plain.coverage is None and counted.coverage is not None
    assert counted.coverage["steps"] == 1500 and set(counted.coverage["counts"]) == set(COUNTERS)


def test_swarm_draws_its_own_mix_per_seed_and_still_holds() -> None:
    draws = [Mix.swarm(random.Random(f"swarm/{seed}"), Faults()) for seed in range(8)]
    assert draws == [Mix.swarm(random.Random(f"swarm/{seed}"), Faults()) for seed in range(8)]
    assert len({faults for _, faults in draws}) > 2 and len({mix for mix, _ in draws}) > 2
    assert all(faults.enabled <= Faults().enabled for _, faults in draws)
    result = run(ClusterSettings(replicas=3, seed=2), 2000, Faults(), swarm=True, bias=True)
    assert result.objection is None, str(result.objection)
    assert result.mix is not None and result.mix["tactic"] > 0 and result.coverage is not None


def test_quiet_period_catches_a_lag_the_final_check_heals() -> None:
    settings = ClusterSettings(replicas=5, seed=0, mutations=frozenset({Mutation.CATCHUP_ONLY_ON_TRAFFIC}))
    quiet = run(settings, 3000, Faults())
    assert quiet.objection is not None and quiet.objection.check == "quiet-liveness"
    assert quiet.steps[-1]["action"] == "quiet"
    healed = run(settings, 3000, Faults(), quiet=False)  # resubmitting commands wakes the follower up
    assert healed.objection is None and healed.liveness_rounds is not None


def test_a_correct_cluster_passes_the_quiet_period() -> None:
    result = run(ClusterSettings(replicas=3, seed=4), 2000, Faults())
    assert result.objection is None and result.quiet_rounds is not None
    assert [s["action"] for s in result.steps[-2:]] == ["quiet", "quiesce"]


def _busy_leader(commands: int) -> Execution:
    """A healthy 3-replica cluster whose leader was just handed `commands` client commands."""
    execution = Execution(ClusterSettings(replicas=3, seed=5))
    assert execution.feed({"action": "quiet", "rounds": QUIET_ROUNDS})  # elects a leader
    leader = next(r for r, rep in enumerate(execution.sim.replicas) if rep and rep.proposer.role is Role.LEADER)
    for seq in range(1, commands + 1):
        assert execution.feed({"action": "submit", "replica": leader, "client": "c0", "seq": seq, "command": "set k v"})
    # half the window voted and decided, the other half's Accepts delivered: from here on the leader
    # decides a slot every fair round, and the others learn each a round later
    window = execution.sim.settings.window
    for kind, below in ((Accept, window // 2), (Accepted, window // 2), (Accept, window)):
        for mid, envelope in list(execution.sim.network.in_flight.items()):
            msg = envelope.msg
            if isinstance(msg, kind) and msg.slot < below:
                assert execution.feed({"action": "deliver", "msg": mid})
    return execution


def test_the_quiet_period_waits_for_the_leader_to_drain_its_backlog() -> None:
    """A leader deciding a slot every round stays a round ahead of the others until its queue empties,
    which takes longer than `QUIET_ROUNDS` here: the bare bound objects to a cluster that is only busy."""
    blind = _busy_leader(400)
    assert not blind.feed({"action": "quiet", "rounds": QUIET_ROUNDS})
    assert blind.result.objection is not None and blind.result.objection.check == "quiet-liveness"
    busy = _busy_leader(400)
    assert busy.feed({"action": "quiet", "rounds": quiet_bound(busy.sim)}), str(busy.result.objection)
    assert busy.result.quiet_rounds is not None and busy.result.quiet_rounds > QUIET_ROUNDS


def test_seven_replicas_under_swarm_faults_pass_the_quiet_period() -> None:
    """The finding (multipaxos, 7 replicas, seed 23, swarm): a 241-command backlog took 65 quiet rounds."""
    result = run(ClusterSettings(replicas=7, seed=23), 3000, Faults(), swarm=True)
    assert result.objection is None, str(result.objection)
    assert result.quiet_rounds is not None and result.quiet_rounds > QUIET_ROUNDS


def test_faults_cost_availability() -> None:
    calm = run(ClusterSettings(replicas=3, seed=6), 3000, Faults.parse("none"), coverage=True)
    stormy = run(ClusterSettings(replicas=3, seed=6), 3000, Faults(), coverage=True)
    assert calm.coverage is not None and stormy.coverage is not None
    a, b = calm.coverage["availability"], stormy.coverage["availability"]
    assert 0 < a["leaderless_ticks"] < a["ticks"]  # the first election takes some ticks
    assert b["leaderless_share"] > a["leaderless_share"]
    assert b["longest_leaderless_ticks"] <= b["leaderless_ticks"]


def test_cli_reports_coverage_and_refuses_it_for_hunts() -> None:
    result = CliRunner().invoke(main, ["sim", "--steps", "800", "--coverage", "--swarm", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc["coverage"]["per_10k_steps"]) == set(COUNTERS) and "availability" in doc["coverage"]
    assert doc["quiet_rounds"] is not None and "faults" in doc["mix"]
    text = CliRunner().invoke(main, ["sim", "--steps", "300", "--coverage"])
    assert text.exit_code == 0 and "without a leader" in text.output
    refused = CliRunner().invoke(main, ["sim", "--mutant", "skip-holes", "--coverage"])
    assert refused.exit_code == 2 and "--coverage" in refused.output


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("replicas", [3, 5])
def test_swarm_and_bias_reach_every_interleaving_in_20k_steps(replicas: int, seed: int) -> None:
    result = run(ClusterSettings(replicas=replicas, seed=seed), 20_000, Faults(), swarm=True, bias=True)
    assert result.objection is None, str(result.objection)
    assert result.coverage is not None
    missing = [name for name, count in result.coverage["counts"].items() if count == 0]
    assert not missing, f"never reached: {missing}"
