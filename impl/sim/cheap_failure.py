"""A Cheap Paxos main failing for good while commands are in flight, in the simulator: the scenario
`bench/cheap_liveness.py` measures over seeds and `tests/test_cheap_core.py` asserts for one.

`CheapReplica`s with M mains and M - 1 auxiliaries (cheap's configuration 0) run the fault-free schedule
(random deliveries, ticks and client submits, every step judged by the Cheap oracle) until a leader has
committed a few slots and has an ordinary Accept in flight to another main; that main crashes for good (the
schedule draws no crash or restart), and the run goes on. The danger with 3 mains or more: a surviving main
that does not lead votes a command the failed main never votes, and re-proposing it where only the failed
main's vote can choose it would stop the log for good (`spec/cheap.py`: auxiliaries vote only for a
retirement); `impl.cheap.replica.CheapProposer.freed` is what avoids it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from paxiom.impl.cheap.replica import CheapReplica
from paxiom.impl.messages import Accept
from paxiom.impl.proposer import Role
from paxiom.impl.reconfig import switch_of
from paxiom.impl.sim.runner import Execution, Faults, schedule
from paxiom.impl.sim.simulator import ClusterSettings, Step

WARMUP = 20_000
"""Most steps to wait for a leader with a few slots committed and an Accept in flight to another main."""


@dataclass
class Run:
    mains: int
    seed: int
    retired: bool
    progressed: bool
    committed_after: int
    """Slots the survivors committed past the crash's commit point."""


def main_replicas(execution: Execution) -> list[tuple[int, CheapReplica]]:
    """The live mains."""
    return [
        (r, rep) for r, rep in enumerate(execution.sim.replicas) if isinstance(rep, CheapReplica) and not rep.auxiliary
    ]


def victim(execution: Execution) -> int | None:
    """A main with an ordinary Accept in flight to it from the leader, once the leader committed 3 slots."""
    mains = dict(main_replicas(execution))
    leaders = [r for r, rep in mains.items() if rep.role is Role.LEADER and rep.commit >= 3]
    if not leaders:
        return None
    for envelope in execution.sim.network.in_flight.values():
        msg = envelope.msg
        to_main = envelope.src == leaders[0] and envelope.dst in mains and envelope.dst != leaders[0]
        if to_main and isinstance(msg, Accept) and switch_of(msg.value) is None:
            return envelope.dst
    return None


def _feed(execution: Execution, step: Step) -> None:
    if not execution.feed(step):
        raise RuntimeError(f"the oracle objects: {execution.result.objection}")


def lose_a_main(mains: int, seed: int, after: int) -> Run:
    """One run of the scenario: `after` steps once the main crashed."""
    settings = ClusterSettings(replicas=2 * mains - 1, seed=seed, variant="cheap")
    execution = Execution(settings)
    steps = schedule(execution.sim, random.Random(seed), Faults(frozenset()))
    failed = None
    for _ in range(WARMUP):
        _feed(execution, next(steps))
        if (failed := victim(execution)) is not None:
            break
    if failed is None:
        raise RuntimeError(f"mains {mains} seed {seed}: no Accept in flight to a main within {WARMUP} steps")
    start = max(rep.commit for _, rep in main_replicas(execution))
    _feed(execution, {"action": "crash", "replica": failed})
    for _ in range(after):
        _feed(execution, next(steps))
    end = max(rep.commit for _, rep in main_replicas(execution))
    retired = any(len(rep.configs.epochs) > 1 for _, rep in main_replicas(execution))
    return Run(mains, seed, retired, end > start + settings.alpha, end - start)
