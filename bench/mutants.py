"""The mutant table: how fast the oracle catches each catalogued bug, and how small the schedule gets.

    .venv/bin/python bench/mutants.py [--shrink-seconds 30] [--json] [NAME ...]

Per mutant, with the default hunting budget of `paxiom sim --mutant NAME`: runs and simulated steps
until the first objection, seconds to it, the check that objected, and the schedule's length before
and after shrinking.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from paxiom.impl.mutants import MUTANTS
from paxiom.impl.sim.hunt import hunt
from paxiom.impl.sim.shrink import check_kind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="mutants to hunt (default: all)")
    parser.add_argument("--shrink-seconds", type=float, default=30.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    for name in args.names or list(MUTANTS):
        found = hunt(MUTANTS[name], shrink_seconds=args.shrink_seconds)
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
        rows.append(row)
        if not args.json:
            print(
                f"| {name} | {row['role']} | {row['caught']} | {row['runs']} | {row['steps_to_detection']} | "
                f"{row['seconds_to_detection']} | {row.get('check')} | {row.get('schedule_steps')} | "
                f"{row.get('shrunk_steps')} |",
                flush=True,
            )
    if args.json:
        print(json.dumps(rows, indent=2))
    elif not all(row["caught"] for row in rows):
        raise SystemExit("some mutants survived")


if __name__ == "__main__":
    main()
