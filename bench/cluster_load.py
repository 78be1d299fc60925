"""How long `load_cluster` takes on large node lists, and how the time grows with their size.

Run: `.venv/bin/python bench/cluster_load.py [--sizes 10000,20000,50000,100000] [--repeat 3]`

Each file lists N nodes, a zone holding all of them and `phase1 = "majority(everyone)"`. The reader used
to keep positions by scanning the whole text per lookup and the expression lexer re-sliced the rest of the
text per token: 10,000 nodes took 2.8 s, 20,000 9.2 s and 50,000 more than 90 s. The figures printed are the
best of --repeat runs, in this process, after the imports; the last column is the growth against the
previous size relative to the growth in nodes (1.0 is linear, 2.0 would be quadratic's doubling).
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

from paxiom.cluster import load_cluster


def cluster_file(n: int) -> str:
    names = ", ".join(f'"n{i}"' for i in range(n))
    return f'nodes = [{names}]\n[zones]\neveryone = [{names}]\n[quorums]\nphase1 = "majority(everyone)"\n'


def best_seconds(path: Path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        load_cluster(path)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,20000,50000,100000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    previous: tuple[int, float] | None = None
    print(f"{'nodes':>8} {'MB':>6} {'seconds':>8} {'growth exponent':>16}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = Path(tmp) / f"n{n}.toml"
            path.write_text(cluster_file(n))
            seconds = best_seconds(path, args.repeat)
            exponent = "" if previous is None else f"{math.log(seconds / previous[1]) / math.log(n / previous[0]):.2f}"
            print(f"{n:>8,} {path.stat().st_size / 1e6:>6.1f} {seconds:>8.3f} {exponent:>16}")
            previous = (n, seconds)


if __name__ == "__main__":
    main()
