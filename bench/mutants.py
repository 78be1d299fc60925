"""The mutant table: how fast the oracle catches each catalogued bug, and how small the schedule gets.

    .venv/bin/python bench/mutants.py [--shrink-seconds 30] [--swarm] [--bias] [--json] [NAME ...]
    .venv/bin/python bench/mutants.py --compare [--seeds 20] [--json] [NAME ...]

Per mutant, with the default hunting budget of `paxiom sim --mutant NAME` (and its --swarm/--bias): runs
and simulated steps until the first objection, seconds to it, the check that objected, and the
schedule's length before and after shrinking.

`--compare` sets uniform schedules (before) against bias and swarm + bias (after), measured in the same
run: the steps a hunt needs to the first objection, and the detection probability — the share of
`--seeds` runs of the hunt's budget (its seeds and profiles) in which the oracle objects at all.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from paxiom.impl.mutants import MUTANTS, MutantInfo
from paxiom.impl.sim.hunt import DEFAULT_STEPS, attempt, attempts, hunt
from paxiom.impl.sim.shrink import check_kind

SCHEDULES: dict[str, dict[str, Any]] = {
    "uniform": {},
    "bias": {"bias": True},
    "swarm+bias": {"swarm": True, "bias": True},
}
AFTER = [kind for kind in SCHEDULES if kind != "uniform"]


def detection(mutant: MutantInfo, seeds: int, **schedule: Any) -> float:
    """The share of the hunt's first `seeds` runs in which the oracle objects."""
    plan = attempts(mutant, seeds, DEFAULT_STEPS, None, None, **schedule)
    return sum(attempt(job).failing is not None for job in plan) / seeds


def compare(name: str, seeds: int) -> dict[str, Any]:
    row: dict[str, Any] = {"mutant": name}
    for kind, schedule in SCHEDULES.items():
        found = hunt(MUTANTS[name], shrink_seconds=0, **schedule)
        row[kind] = {
            "steps_to_detection": found.steps if found.found is not None else None,
            "runs": found.runs,
            "detection_probability": detection(MUTANTS[name], seeds, **schedule),
        }
    before = row["uniform"]["steps_to_detection"]
    for kind in AFTER:
        after = row[kind]["steps_to_detection"]
        row[kind]["steps_ratio"] = round(after / before, 3) if before and after else None
    return row


def table(name: str, shrink_seconds: float, swarm: bool, bias: bool) -> dict[str, Any]:
    found = hunt(MUTANTS[name], shrink_seconds=shrink_seconds, swarm=swarm, bias=bias)
    row: dict[str, Any] = {
        "mutant": name,
        "role": MUTANTS[name].role,
        "caught": found.found is not None,
        "runs": found.runs,
        "steps_to_detection": found.steps,
        "seconds_to_detection": round(found.seconds, 2),
    }
    if found.found is not None and found.shrunk is not None:
        row |= {
            "check": check_kind(found.found),
            "schedule_steps": len(found.found.steps),
            "shrunk_steps": len(found.shrunk.steps),
            "shrink_seconds": round(found.shrink_seconds, 1),
        }
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="mutants to hunt (default: all)")
    parser.add_argument("--shrink-seconds", type=float, default=30.0)
    parser.add_argument("--swarm", action="store_true", help="hunt with swarm schedules")
    parser.add_argument("--bias", action="store_true", help="hunt with coverage-biased tactics")
    parser.add_argument("--compare", action="store_true", help="uniform against swarm + bias")
    parser.add_argument("--seeds", type=int, default=20, help="runs per detection probability (--compare)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    if args.compare and not args.json:
        steps = " | ".join(f"{kind} (ratio)" for kind in AFTER)
        print(f"| mutant | steps to detection: uniform | {steps} | P(detect): uniform | {' | '.join(AFTER)} |")
        print("|---|" + "---|" * (2 + 2 * len(AFTER)))
    for name in args.names or list(MUTANTS):
        if args.compare:
            row = compare(name, args.seeds)
            steps = " | ".join(f"{row[k]['steps_to_detection']} ({row[k]['steps_ratio']})" for k in AFTER)
            odds = " | ".join(f"{row[k]['detection_probability']:.2f}" for k in SCHEDULES)
            line = f"| {name} | {row['uniform']['steps_to_detection']} | {steps} | {odds} |"
        else:
            row = table(name, args.shrink_seconds, args.swarm, args.bias)
            line = (
                f"| {name} | {row['role']} | {row['caught']} | {row['runs']} | {row['steps_to_detection']} | "
                f"{row['seconds_to_detection']} | {row.get('check')} | {row.get('schedule_steps')} | "
                f"{row.get('shrunk_steps')} |"
            )
        rows.append(row)
        if not args.json:
            print(line, flush=True)
    if args.json:
        print(json.dumps(rows, indent=2))
    elif not args.compare and not all(row["caught"] for row in rows):
        raise SystemExit("some mutants survived")


if __name__ == "__main__":
    main()
