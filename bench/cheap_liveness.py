"""Cheap Paxos's liveness cost in the simulator: a main fails for good while commands are in flight.

    .venv/bin/python bench/cheap_liveness.py [--mains 2,3,4] [--seeds 20] [--after 3000] [--json]

For each number of mains M (M - 1 auxiliaries, cheap's configuration 0: quorums of any M of the 2M - 1) and
each seed, `paxiom.impl.sim.cheap_failure.lose_a_main`: a main crashes for good with an ordinary Accept in
flight to it, and the run goes on for --after steps, no restart. A run *retired* the failed main if a survivor
learned the switch, and *progressed* if the surviving mains committed slots past the crash's commit point
plus the α-window the retirement needs.

Every run is judged by the oracle: a run the spec does not allow would measure nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import Any

from paxiom.impl.sim.cheap_failure import lose_a_main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mains", default="2,3,4")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--after", type=int, default=3000, help="steps after the crash")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    runs = [lose_a_main(m, s, args.after) for m in map(int, args.mains.split(",")) for s in range(args.seeds)]
    rows: list[dict[str, Any]] = []
    for m in sorted({r.mains for r in runs}):
        mine = [r for r in runs if r.mains == m]
        rows.append(
            {
                "mains": m,
                "auxiliaries": m - 1,
                "runs": len(mine),
                "progressed": sum(r.progressed for r in mine),
                "retired": sum(r.retired for r in mine),
                "median_committed_after": sorted(r.committed_after for r in mine)[len(mine) // 2],
            }
        )
    if args.json:
        json.dump({"rows": rows, "runs": [asdict(r) for r in runs]}, sys.stdout, indent=2)
        print()
        return 0
    print(f"a main crashed for good with an Accept in flight to it; {args.after} steps after, no restart")
    print("mains aux  runs  retired  progressed  median slots committed after")
    for row in rows:
        print(
            f"{row['mains']:>5} {row['auxiliaries']:>3} {row['runs']:>5} {row['retired']:>8} {row['progressed']:>11} "
            f"{row['median_committed_after']:>29}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
