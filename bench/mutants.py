"""The mutant table: how fast the oracle catches each catalogued bug, and how small the schedule gets.

    .venv/bin/python bench/mutants.py [--shrink-seconds 30] [--uniform | --swarm | --bias] [--json] [NAME ...]
    .venv/bin/python bench/mutants.py --compare [--seeds 20] [--json] [NAME ...]

Per mutant, with the default hunting budget of `paxiom sim --mutant NAME` (and its --uniform, --swarm,
--bias): runs and simulated steps until the first objection, seconds to it, the check that objected, and
the schedule's length before and after shrinking.

`--compare` sets uniform schedules (before) against bias, swarm + bias and the default hunt's rotation of
the three (after), measured in the same run: the steps a hunt needs to the first objection, the
detection probability — the share of the hunt's first `--seeds` runs (its seeds and profiles) in which the
oracle objects at all — and the steps those runs took per objection.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from paxiom.impl.mutants import MUTANTS, MutantInfo
from paxiom.impl.sim.hunt import DEFAULT_STEPS, ROTATION, UNIFORM, Schedule, attempt, attempts, hunt, schedules_of
from paxiom.impl.sim.shrink import check_kind

SCHEDULES: dict[str, tuple[Schedule, ...]] = {
    "uniform": (UNIFORM,),
    **{schedule.name: (schedule,) for schedule in ROTATION if schedule != UNIFORM},
    "default": ROTATION,
}
AFTER = [kind for kind in SCHEDULES if kind != "uniform"]


def detection(mutant: MutantInfo, seeds: int, schedules: tuple[Schedule, ...]) -> tuple[float, int | None]:
    """The share of the hunt's first `seeds` runs in which the oracle objects, and the steps those runs
    took (each to its objection) per objection: a hunt's expected steps to detection, steadier than one
    hunt's count (None: no objection)."""
    outcomes = [attempt(job) for job in attempts(mutant, seeds, DEFAULT_STEPS, None, None, schedules=schedules)]
    caught = sum(outcome.failing is not None for outcome in outcomes)
    return caught / seeds, sum(outcome.steps for outcome in outcomes) // caught if caught else None


def compare(name: str, seeds: int) -> dict[str, Any]:
    row: dict[str, Any] = {"mutant": name}
    for kind, schedules in SCHEDULES.items():
        found = hunt(MUTANTS[name], shrink_seconds=0, schedules=schedules)
        probability, per_detection = detection(MUTANTS[name], seeds, schedules)
        row[kind] = {
            "steps_to_detection": found.steps if found.found is not None else None,
            "runs": found.runs,
            "detection_probability": probability,
            "steps_per_detection": per_detection,
        }
    for figure in ("steps_to_detection", "steps_per_detection"):
        before = row["uniform"][figure]
        for kind in AFTER:
            after = row[kind][figure]
            row[kind][f"{figure}_ratio"] = round(after / before, 3) if before and after else None
    return row


def table(name: str, shrink_seconds: float, schedules: tuple[Schedule, ...]) -> dict[str, Any]:
    found = hunt(MUTANTS[name], shrink_seconds=shrink_seconds, schedules=schedules)
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
    parser.add_argument("--swarm", action="store_true", help="hunt with swarm schedules only")
    parser.add_argument("--bias", action="store_true", help="hunt with coverage-biased tactics only")
    parser.add_argument("--uniform", action="store_true", help="hunt with uniform schedules only")
    parser.add_argument("--compare", action="store_true", help="uniform against bias, swarm + bias and the default")
    parser.add_argument("--seeds", type=int, default=20, help="runs per detection probability (--compare)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    schedules = schedules_of(args.swarm, args.bias, args.uniform)
    if args.compare and not args.json:
        steps = " | ".join(f"{kind} (ratio)" for kind in AFTER)
        print(
            f"| mutant | steps to detection: uniform | {steps} | P(detect): uniform | {' | '.join(AFTER)} | "
            "steps per detection: uniform | default (ratio) |"
        )
        print("|---|" + "---|" * (4 + 2 * len(AFTER)))
    for name in args.names or list(MUTANTS):
        if args.compare:
            row = compare(name, args.seeds)
            steps = " | ".join(f"{row[k]['steps_to_detection']} ({row[k]['steps_to_detection_ratio']})" for k in AFTER)
            odds = " | ".join(f"{row[k]['detection_probability']:.2f}" for k in SCHEDULES)
            per = f"{row['uniform']['steps_per_detection']} | {row['default']['steps_per_detection']} "
            per += f"({row['default']['steps_per_detection_ratio']})"
            line = f"| {name} | {row['uniform']['steps_to_detection']} | {steps} | {odds} | {per} |"
        else:
            row = table(name, args.shrink_seconds, schedules)
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
