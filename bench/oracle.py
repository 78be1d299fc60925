"""How fast the refinement oracle checks simulated steps.

    .venv/bin/python bench/oracle.py [--steps 20000] [--seeds 3] [--json]

For each cluster size, runs the same seeded fault schedules twice — with the oracle judging every
transition, and with the bare simulator — and prints checked transitions per second, spec actions
matched per second, and the oracle's overhead as a ratio to the bare simulator measured in the same
run. (No peer checks an implementation against its spec step by step; the bare simulator is the
baseline that isolates what the checking costs.) Seconds are CPU seconds of this process
(`time.process_time`), so a shared, loaded machine inflates them less than wall time.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from typing import Any

from paxiom.impl.sim.runner import Faults, liveness_bound, run, schedule
from paxiom.impl.sim.simulator import ClusterSettings, Simulator


def bare(settings: ClusterSettings, steps: int) -> tuple[float, int]:
    """The same schedule without the oracle: (CPU seconds, replica transitions)."""
    sim = Simulator(settings)
    adversary = schedule(sim, random.Random(f"schedule/{settings.seed}"), Faults())
    started = time.process_time()
    for _ in range(steps):
        sim.step(next(adversary))
    sim.step({"action": "quiesce", "rounds": liveness_bound(sim)})
    return time.process_time() - started, sim.transitions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    for replicas in (3, 5):
        checked = actions = 0
        seconds = bare_seconds = 0.0
        for seed in range(args.seeds):
            settings = ClusterSettings(replicas=replicas, seed=seed)
            started = time.process_time()
            result = run(settings, args.steps, Faults())
            seconds += time.process_time() - started
            if result.objection is not None:
                raise SystemExit(f"the oracle objected on a correct run: {result.objection}")
            checked += result.transitions
            actions += result.actions_matched
            bare_seconds += bare(settings, args.steps)[0]
        rows.append(
            {
                "replicas": replicas,
                "schedules": args.seeds,
                "steps_per_schedule": args.steps,
                "checked_transitions": checked,
                "spec_actions_matched": actions,
                "seconds": round(seconds, 2),
                "checked_transitions_per_second": round(checked / seconds),
                "spec_actions_per_second": round(actions / seconds),
                "bare_simulator_seconds": round(bare_seconds, 2),
                "oracle_slowdown_vs_bare_simulator": round(seconds / bare_seconds, 2),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for row in rows:
        print(
            f"{row['replicas']} replicas: {row['checked_transitions']} transitions checked in {row['seconds']} s = "
            f"{row['checked_transitions_per_second']}/s ({row['spec_actions_per_second']} spec actions/s); "
            f"{row['oracle_slowdown_vs_bare_simulator']}x the bare simulator's time "
            f"({row['bare_simulator_seconds']} s)"
        )


if __name__ == "__main__":
    main()
