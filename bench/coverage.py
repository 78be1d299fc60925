"""How often runs reach the dangerous interleavings: uniform schedules against swarm and swarm + bias.

    .venv/bin/python bench/coverage.py [--steps 20000] [--seeds 4] [--replicas 3 5] [--json]

For every schedule kind, seed and cluster size: one run of `--steps` fault-phase steps with the coverage
observer (`impl.sim.coverage`), then the quiet period and the final liveness check. Prints, per kind, each
counter's per-10k-steps minimum and median over the runs, how many runs reached every counter, the share
of ticks without a leader, and the coverage observer's cost: CPU time of the uniform runs with the
observer against the same runs without it, measured side by side in this process.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from paxiom.impl.sim.coverage import COUNTERS
from paxiom.impl.sim.runner import Faults, run
from paxiom.impl.sim.simulator import ClusterSettings

KINDS: dict[str, dict[str, Any]] = {
    "uniform": {},
    "swarm": {"swarm": True},
    "swarm+bias": {"swarm": True, "bias": True},
}


def measure(steps: int, seeds: int, sizes: list[int]) -> dict[str, Any]:
    report: dict[str, Any] = {}
    for kind, options in KINDS.items():
        runs = []
        for n in sizes:
            for seed in range(seeds):
                result = run(ClusterSettings(replicas=n, seed=seed), steps, Faults(), coverage=True, **options)
                assert result.coverage is not None
                runs.append({"replicas": n, "seed": seed, "holds": result.holds, **result.coverage})
        per = {c: [r["per_10k_steps"][c] for r in runs] for c in COUNTERS}
        report[kind] = {
            "runs": len(runs),
            "all_reached": sum(all(r["counts"][c] > 0 for c in COUNTERS) for r in runs),
            "held": sum(r["holds"] for r in runs),
            "min_per_10k": {c: min(v) for c, v in per.items()},
            "median_per_10k": {c: round(statistics.median(v), 2) for c, v in per.items()},
            "leaderless_share": statistics.median(r["availability"]["leaderless_share"] for r in runs),
        }
    cost = []
    for counted in (False, True, False, True):
        started = time.process_time()
        for n in sizes:
            run(ClusterSettings(replicas=n, seed=0), steps, Faults(), coverage=counted, quiet=False)
        cost.append((counted, time.process_time() - started))
    plain = sum(t for counted, t in cost if not counted)
    report["coverage_cost"] = round(sum(t for counted, t in cost if counted) / plain, 3)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--replicas", type=int, nargs="+", default=[3, 5])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = measure(args.steps, args.seeds, args.replicas)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    kinds = list(KINDS)
    print("| counter (per 10k steps: min / median) | " + " | ".join(kinds) + " |")
    print("|---|" + "---|" * len(kinds))
    for c in COUNTERS:
        cells = [f"{report[k]['min_per_10k'][c]} / {report[k]['median_per_10k'][c]}" for k in kinds]
        print(f"| {c} | " + " | ".join(cells) + " |")
    print(
        "| runs reaching every counter | "
        + " | ".join(f"{report[k]['all_reached']}/{report[k]['runs']}" for k in kinds)
        + " |"
    )
    print("| runs the oracle passed | " + " | ".join(f"{report[k]['held']}/{report[k]['runs']}" for k in kinds) + " |")
    print(
        "| ticks without a leader (median) | "
        + " | ".join(f"{report[k]['leaderless_share']:.1%}" for k in kinds)
        + " |"
    )
    print(f"coverage observer CPU cost (uniform runs, with / without): {report['coverage_cost']}x")


if __name__ == "__main__":
    main()
