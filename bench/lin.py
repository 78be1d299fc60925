"""How fast `paxiom lin` decides linearizability, on realistic generated histories and on recorded ones.

    .venv/bin/python bench/lin.py [--sizes 1000,10000,100000] [--timeout 120] [--grid] [--json] [HISTORY ...]
    .venv/bin/python bench/lin.py --sizes "" history.edn   # recorded histories only

Histories come from `paxiom.lin.simulate`: clients against a simulated linearizable store of cas-registers
(each operation takes effect at an instant between random invocation and completion latencies; lost
replies are :info and retire the process, as in Jepsen). The non-linearizable twin of each history uses
the same seed with 1% certainly-stale reads. By default each dimension is varied alone around a base of
10 keys, concurrency 5 and 5% :info (sizes x keys, then concurrency, then info rate, at every size);
`--grid` runs the full product. Reported: checker throughput (operations per CPU second of `check` with the
explanation off, i.e. the verdict alone; a violation's throughput counts every key, though the failing
key's search stops at its violation), and for violations the CPU seconds of the whole check with the
minimal explanation and that explanation's size. `--timeout` is wall clock, as in `paxiom lin check`.
A timeout is reported as unknown, never as a pass. HISTORY files (EDN or JSON lines) are checked too.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path
from typing import Any

from paxiom.lin.check import check
from paxiom.lin.history import read_history
from paxiom.lin.simulate import simulate

BASE = {"keys": 10, "concurrency": 5, "info": 0.05}
STALE = 0.01


def cases(sizes: list[int], grid: bool) -> list[dict[str, Any]]:
    """The (size, keys, concurrency, info) points to measure."""
    if grid:
        product = itertools.product(sizes, (1, 10, 100), (2, 5, 10), (0.0, 0.05, 0.2))
        return [{"ops": n, "keys": k, "concurrency": c, "info": i} for n, k, c, i in product]
    points = []
    for n in sizes:
        points += [{"ops": n, **BASE, "keys": k} for k in (1, 10, 100)]
        points += [{"ops": n, **BASE, "concurrency": c} for c in (2, 10)]
        points += [{"ops": n, **BASE, "info": i} for i in (0.0, 0.2)]
    return points


def measure(events: list[Any], timeout: float) -> dict[str, Any]:
    """Verdict and CPU time of one check (CPU, not wall clock: on a shared machine wall time is mostly waiting)."""
    started, wall = time.process_time(), time.perf_counter()
    verdict = check(events, explain=False, timeout=timeout)
    seconds = time.process_time() - started
    row: dict[str, Any] = {"verdict": verdict.verdict, "cpu_s": round(seconds, 3)}
    row["wall_s"] = round(time.perf_counter() - wall, 3)
    row["ops_per_s"] = round(len(verdict.operations) / seconds) if verdict.verdict != "unknown" else None
    if verdict.verdict == "violation":
        started = time.process_time()
        explained = check(events, explain=True, timeout=timeout)
        row["explained_s"] = round(time.process_time() - started, 3)
        row["explanation_ops"] = len(explained.explanation.operations) if explained.explanation else None
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("histories", nargs="*", type=Path)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per check (then: unknown)")
    parser.add_argument("--grid", action="store_true", help="the full product of keys x concurrency x info")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    header = f"{'ops':>7} {'keys':>4} {'conc':>4} {'info':>5} | {'linearizable':>22} | {'1% stale reads':>46}"
    points = cases([int(s) for s in args.sizes.split(",") if s], args.grid)
    if points and not args.json:
        print(header)
        print("-" * len(header))
    for case in points:
        shape = {"keys": case["keys"], "concurrency": case["concurrency"], "info_rate": case["info"]}
        good = measure(simulate(case["ops"], **shape, seed=args.seed), args.timeout)
        bad = measure(simulate(case["ops"], **shape, stale_rate=STALE, seed=args.seed), args.timeout)
        rows.append({**case, "linearizable": good, "stale": bad})
        if not args.json:
            print(
                f"{case['ops']:>7} {case['keys']:>4} {case['concurrency']:>4} {case['info']:>5.0%} | "
                f"{_cell(good):>22} | {_cell(bad):>46}",
                flush=True,
            )
    for path in args.histories:
        events = read_history(path)
        row = {"history": str(path), "events": len(events), **measure(events, args.timeout)}
        rows.append(row)
        if not args.json:
            print(f"{path}: {len(events)} events: {_cell(row)}")
    if args.json:
        print(json.dumps(rows, indent=2))


def _cell(row: dict[str, Any]) -> str:
    if row["verdict"] == "unknown":
        return f"UNKNOWN (timeout, {row['wall_s']:.0f} s)"
    text = f"{row['verdict']} {row['ops_per_s']:>7,}/s"
    if "explained_s" in row:
        text += f", explained in {row['explained_s']:.2f} s ({row['explanation_ops']} ops)"
    return text


if __name__ == "__main__":
    main()
