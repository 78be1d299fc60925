"""Reconfigurations under faults: a `reconfig` run's schedule also switches configurations.

A `reconfig` cluster starts with its last replica outside every quorum (a spare), and now and then a
client asks some replica to switch to the majorities of a random set of replicas: adding the spare,
removing or replacing members, through the log like any command (`impl.reconfig`). A `cheap` cluster
(Cheap Paxos: a majority of mains, the rest auxiliaries) is asked to retire a random main instead, to
cheap's own configuration for it (`spec/cheap.py`). The switches come
from their own seeded generator, interleaved with the fault schedule's steps, so the schedule itself
(and every run of another variant) draws exactly what it drew before.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from paxiom.impl.sim.simulator import ClusterSettings, Step
from paxiom.spec import cheap

RATE = 0.004
"""Per step, the chance a reconfiguration is submitted (a dozen in a default 3,000-step run)."""


def reconfigurations(settings: ClusterSettings, steps: Iterator[Step]) -> Iterator[Step]:
    """`steps`, with reconfigure steps mixed in when the cluster is a `reconfig` one."""
    if settings.variant not in ("reconfig", "cheap"):
        return steps
    return _interleave(settings, steps)


def _retirements(settings: ClusterSettings) -> list[list[int]]:
    """The members of cheap's configuration k (main k retired), k = 1..mains."""
    spec = cheap.Config(settings.quorums(), ("v",), 0, mains=settings.mains)
    return [sorted(spec.members[k]) for k in range(1, len(spec.configs))]


def _interleave(settings: ClusterSettings, steps: Iterator[Step]) -> Iterator[Step]:
    rng = random.Random(f"reconfigure/{settings.seed}")
    n, seq = settings.replicas, 0
    retirements = _retirements(settings) if settings.variant == "cheap" else []
    for step in steps:
        if rng.random() < RATE:
            seq += 1
            if retirements:
                members = rng.choice(retirements)
            else:
                members = sorted(rng.sample(range(n), rng.randrange(max(2, n - 2), n + 1)))
            yield {"action": "reconfigure", "replica": rng.randrange(n), "seq": seq, "members": members}
        yield step
