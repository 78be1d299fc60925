"""The long fault campaign: many seeded runs across fault mixes against a real 3-node cluster; prints the table.

    .venv/bin/python bench/campaign.py [--runs 200] [--seed 1000] [--duration 15] [--out DIR] [--json]

Each run is `paxiom campaign --seed K` (see docs/campaign.md); mixes rotate between all faults, process
faults only, network faults only, and storage + hostile, so each kind also runs without the others.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from paxiom.campaign.run import RunReport, RunSpec
from paxiom.campaign.table import campaign, totals

MIXES = (
    ("kill", "power", "corrupt", "partition", "delay", "reset", "pause", "hostile"),
    ("kill", "power", "pause"),
    ("partition", "delay", "reset", "pause"),
    ("power", "corrupt", "hostile"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--progress", type=Path, help="Rewrite the running totals (JSON) here after every run.")
    args = parser.parse_args()
    reports: list[RunReport] = []
    started = time.monotonic()
    for i in range(args.runs):
        spec = replace(RunSpec(args.seed + i, duration=args.duration), faults=MIXES[i % len(MIXES)])
        found, _ = campaign(spec, 1, args.out)
        reports += found
        r = found[0]
        print(f"seed {r.seed} {'holds' if r.ok else 'FAILS: ' + '; '.join(r.anomalies)[:300]}", file=sys.stderr)
        if args.progress is not None:
            args.progress.write_text(json.dumps(totals(reports), indent=1) + "\n")
    table = totals(reports) | {"wall_seconds": round(time.monotonic() - started)}
    if args.json:
        print(json.dumps(table))
    else:
        for key, value in table.items():
            print(f"{key:<30} {value}")
    sys.exit(0 if table["runs_failed"] == 0 else 1)


if __name__ == "__main__":
    main()
