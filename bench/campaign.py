"""The long fault campaign: many seeded runs across fault mixes against a real 3-node cluster; prints the table.

    .venv/bin/python bench/campaign.py [--runs 200] [--seed 1000] [--duration 15] [--out DIR] [--json]
    .venv/bin/python bench/campaign.py --teeth [--out DIR] [--json]     # each bug's tooth: caught? by what?

Each run is `paxiom campaign --seed K` (see docs/campaign.md); mixes rotate between all faults, process
faults only, network faults only, and storage + hostile, so each kind also runs without the others.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from paxiom.campaign.run import RunReport, RunSpec
from paxiom.campaign.table import campaign, totals
from paxiom.campaign.teeth import NOT_EXPOSED, TEETH, bite, unaccounted

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
    parser.add_argument("--teeth", nargs="?", const="", metavar="BUG,...",
                        help="Run every bug's tooth (paxiom.campaign.teeth), or these, instead.")  # fmt: skip
    args = parser.parse_args()
    if args.teeth is not None:
        teeth([m for m in args.teeth.split(",") if m] or list(TEETH), args.out, args.json)
        return
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


def teeth(mutants: list[str], out: Path | None, as_json: bool) -> None:
    """The teeth table: each bug a node can carry, whether its tooth caught it, by what, after how many runs."""
    unknown = [m for m in mutants if m not in TEETH]
    if unknown:
        sys.exit(f"bench/campaign.py: --teeth: no tooth for {', '.join(unknown)} (teeth: {', '.join(TEETH)})")
    with tempfile.TemporaryDirectory(prefix="paxiom-teeth-") as scratch:
        root = out or Path(scratch)
        bites = []
        for mutant in mutants:
            found = bite(mutant, root)
            bites.append(found)
            print(f"{mutant}: {'caught' if found.caught else 'MISSED'} {found.by}", file=sys.stderr, flush=True)
    rows = [
        {"mutant": b.mutant, "caught": b.caught, "by": b.by, "runs": b.runs, "budget": TEETH[b.mutant].runs,
         "schedule": schedule_name(b.mutant), "seed": b.seed} for b in bites
    ]  # fmt: skip
    if len(mutants) == len(TEETH):
        rows += [{"mutant": m, "caught": None, "by": why} for m, why in NOT_EXPOSED.items()]
        rows += [{"mutant": m, "caught": False, "by": "no tooth"} for m in unaccounted()]
    if as_json:
        print(json.dumps(rows))
    else:
        print("| bug | caught | by | runs needed (budget) | schedule |\n|---|---|---|---|---|")
        for row in rows:
            if row["caught"] is None:
                print(f"| `{row['mutant']}` | not exposable | {row['by']} | | |")
            else:
                runs = f"{row['runs']} ({row['budget']})" if "runs" in row else ""
                caught = "yes" if row["caught"] else "**no**"
                print(f"| `{row['mutant']}` | {caught} | {row['by']} | {runs} | {row.get('schedule', '')} |")
    sys.exit(0 if all(row["caught"] is not False for row in rows) else 1)


def schedule_name(mutant: str) -> str:
    tooth = TEETH[mutant]
    doc = " ".join((tooth.schedule.__doc__ or "").split()) if tooth.schedule is not None else ""
    what = doc.split("; ")[0].split(". ")[0].rstrip(".")
    what = what or f"seeded mix of {', '.join(tooth.faults)}"
    return f"{what}; {tooth.nodes} nodes, {tooth.duration:g} s, seed {tooth.seed}"


if __name__ == "__main__":
    main()
