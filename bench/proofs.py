"""How long each unbounded proof takes, against mypyvy's published times for the same models.

Run: `.venv/bin/python bench/proofs.py [--repeat N]`

For each variant it reports the median over N runs of (a) the CPU time of the Z3 obligations alone, in this
process, and
(b) the whole command `paxiom prove --variant V --json` in a fresh interpreter (start-up, Z3 import,
model building, every obligation, JSON), which is the fair comparison with mypyvy's `verify` wall time,
and that command's CPU time, which other jobs on a shared machine inflate less than its wall time.

mypyvy cannot be run here (only package registries are reachable, and `pip index versions mypyvy` finds
no distribution), so its figures are the ones published for these models on a 2-core machine of this
kind (/work/shared/reference/inductive-invariant.md): paxos 0.76 s, flexible 0.71 s, multi 0.69 s, fast
1.77 s. No mypyvy figure exists for Fast Flexible or Cheap Paxos (no public tool proves them). The ratio
is mypyvy's time divided by ours (> 1: faster).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from paxiom.proofs import variants
from paxiom.proofs.check import obligations

MYPYVY_PUBLISHED_S = {"paxos": 0.76, "flexible": 0.71, "multipaxos": 0.69, "fastpaxos": 1.77}
PAXIOM = Path(sys.executable).with_name("paxiom")


def in_process(variant: str) -> tuple[float, int]:
    ts = variants.model(variant)
    start = time.process_time()
    done = list(obligations(ts))
    elapsed = time.process_time() - start
    assert all(ob.status == "proved" for ob in done), f"{variant} not proved"
    return elapsed, len(done)


def whole_command(variant: str) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of `paxiom prove --variant V --json`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([str(PAXIOM), "prove", "--variant", variant, "--json"], check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'variant':<14}{'queries':>8}{'Z3 CPU (s)':>11}{'command (s)':>13}{'cmd CPU (s)':>12}{'mypyvy (s)':>12}"
          f"{'ratio':>8}")
    totals = [0.0, 0.0]
    for variant in variants.NAMES:
        runs = [in_process(variant) for _ in range(args.repeat)]
        z3_s = statistics.median(r[0] for r in runs)
        commands = [whole_command(variant) for _ in range(args.repeat)]
        cmd_s = statistics.median(c[0] for c in commands)
        cpu_s = statistics.median(c[1] for c in commands)
        totals[0] += z3_s
        totals[1] += cmd_s
        peer = MYPYVY_PUBLISHED_S.get(variant)
        ratio = f"{peer / cmd_s:.1f}x" if peer else "—"
        print(f"{variant:<14}{runs[0][1]:>8}{z3_s:>11.2f}{cmd_s:>13.2f}{cpu_s:>12.2f}{peer or '—':>12}{ratio:>8}")
    start = time.perf_counter()
    subprocess.run([str(PAXIOM), "prove", "--json"], check=True, capture_output=True)
    together = time.perf_counter() - start
    print(f"{'sum':<14}{'':>8}{totals[0]:>11.2f}{totals[1]:>13.2f}")
    print(f"all variants in one `paxiom prove --json`: {together:.2f} s")
    print(f"load average while measuring: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores "
          "(other jobs on the machine inflate every figure)")


if __name__ == "__main__":
    main()
