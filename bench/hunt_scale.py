"""Hunt throughput on 1 worker against more, same seeds, same run: paxiom.fanout's local processes and a Dask
LocalCluster (when the distributed extra is installed).

    .venv/bin/python bench/hunt_scale.py [--runs 16] [--steps 1500] [--workers 2] [--mutant NAME] [--no-dask]

A soak hunt (no mutant: every run holds, so every seed is run) or a mutant hunt over the same seeds on each
pool; prints runs, simulated steps and wall time, steps per second and the ratio to the one-worker pool, and
asserts the verdict (runs, steps, the objection) is the same on every pool. The machine's load average
before and after is printed: on a shared 2-core machine the second worker competes with everyone else.
"""

from __future__ import annotations

import argparse
import os
import time

from paxiom.fanout import IN_PROCESS, LOCAL_DASK, Pool, default_workers
from paxiom.impl.mutants import MUTANTS
from paxiom.impl.sim.hunt import Hunt, hunt


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} (1/5/15 min) on {os.cpu_count()} cores"


def verdict(h: Hunt) -> tuple[object, ...]:
    return h.runs, h.steps, None if h.found is None or h.found.objection is None else h.found.objection.check


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=16)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--workers", type=int, default=max(2, default_workers()))
    parser.add_argument("--mutant", default=None, help="hunt this mutant instead of soaking the production code")
    parser.add_argument("--no-dask", action="store_true")
    args = parser.parse_args()
    pools = [IN_PROCESS, Pool(args.workers)]
    try:
        import distributed  # noqa: F401

        if not args.no_dask:
            pools.append(Pool(args.workers, LOCAL_DASK))
    except ImportError:
        print("distributed is not installed: no Dask column (pip install 'paxiom[distributed]')")
    mutant = None if args.mutant is None else MUTANTS[args.mutant]
    print(f"{args.mutant or 'soak'}: up to {args.runs} runs of {args.steps} steps; before: {load()}")
    header = f"{'pool':<34} {'runs':>5} {'steps':>8} {'wall':>8} {'steps/s':>8} {'ratio':>6}  verdict"
    print(f"{header}\n{'-' * len(header)}")
    base: float | None = None
    first: tuple[object, ...] | None = None
    for pool in pools:
        started = time.perf_counter()
        found = hunt(mutant, runs=args.runs, steps=args.steps, shrink_seconds=0, pool=pool)
        wall = time.perf_counter() - started  # start-up of the pool's processes included
        rate = found.steps / wall
        base = base or rate
        first = first or verdict(found)
        assert verdict(found) == first, (pool, verdict(found), first)
        shown = "holds" if found.found is None else f"caught: {verdict(found)[2]}"
        print(
            f"{pool.describe():<34} {found.runs:>5} {found.steps:>8,} {wall:>7.1f}s {rate:>8,.0f} {rate / base:>5.2f}x"
            f"  {shown}",
            flush=True,
        )
    print(f"after: {load()}")


if __name__ == "__main__":
    main()
