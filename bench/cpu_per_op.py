"""CPU per op of two revisions of paxiom, measured alternately: the figure a shared machine's load distorts least.

    .venv/bin/python bench/cpu_per_op.py OLD NEW [--size 10] [--concurrency 1024] [--rounds 3] [--repeats 2]
        [--seconds 4] [--rate R]

Each revision is exported (`git archive`) to a directory of its own and run from there, so its nodes, its client
and its load generator are that revision's (bench/replication.py's `Paxiom`: 3 node processes over mutual TLS, an
`fdatasync` every group commit, one client process). The two take turns, `--rounds` times, each turn a fresh
cluster measured `--repeats` times (a closed loop of `--concurrency` in flight, or an open loop of `--rate`
requests a second). CPU per op is each process's user + system CPU over a run (from /proc) per acknowledged op:
the leader's, each follower's, their sum, and the client process's. On a machine whose load moves from minute to
minute, only turns taken close together compare; the medians over all turns are printed at the end.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TREES = ("paxiom", "impl", "spec", "tla", "proofs", "bench")
"""What a revision needs to run: the package, the directories its symlinks name, and the benchmark."""
SITE = 'import sys\nsys.meta_path[:] = [f for f in sys.meta_path if "editable" not in str(getattr(f, "__name__", f))]\n'
"""The exported tree's sitecustomize: drops the editable install's finder, which would import this checkout."""


def export(revision: str, into: Path) -> Path:
    tree = into / revision.replace("/", "_")
    tree.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, *TREES], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    (tree / "sitecustomize.py").write_text(SITE)
    return tree


def turn(tree: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    """One fresh cluster of the revision in `tree`, measured `--repeats` times (a child process run from there)."""
    spec = json.dumps({k: getattr(args, k) for k in ("size", "concurrency", "repeats", "seconds", "rate")})
    env = os.environ | {"PYTHONPATH": str(tree)}
    child = [sys.executable, __file__, "--child", spec]
    done = subprocess.run(child, cwd=tree, env=env, check=True, capture_output=True, text=True, timeout=900)
    return [json.loads(line) for line in done.stdout.splitlines()]


def child(spec: dict[str, Any]) -> None:
    """Inside an exported tree: bench/replication.py's cluster and load, one JSON line per run."""
    sys.path.insert(0, str(Path.cwd() / "bench"))
    import replication

    from paxiom.node.server import GC_THRESHOLDS, run_loop

    async def measure() -> None:
        with tempfile.TemporaryDirectory(dir=ROOT, prefix=".bench-cpu-") as tmp:
            ours = replication.Paxiom(Path(tmp), insecure=False)
            try:
                await ours.start()
                await ours.load(spec["size"], spec["concurrency"], 1.0, 0.5)  # warm-up
                flight = 0 if spec["rate"] else spec["concurrency"]
                for _ in range(spec["repeats"]):
                    run = await ours.load(spec["size"], flight, spec["seconds"], 1.0, rate=spec["rate"])
                    print(json.dumps(run.figures() | {"load": os.getloadavg()[0]}), flush=True)
            finally:
                await ours.stop()
                ours.kill()

    gc.set_threshold(*GC_THRESHOLDS)
    run_loop(measure())


def shares(run: dict[str, Any]) -> dict[str, float]:
    nodes = run["node_cpu_us_per_op"]
    followers = [us for node, us in nodes.items() if "(follower)" in node]
    leader = [us for node, us in nodes.items() if "(leader)" in node]
    return {
        "ops/s": run["ops_per_s"],
        "nodes": run["cpu_us_per_op"],
        "leader": leader[0] if leader else float("nan"),
        "follower": statistics.mean(followers) if followers else float("nan"),
        "client": run["client_cpu_us_per_op"],
    }


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child(json.loads(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old", help="a git revision")
    parser.add_argument("new", help="a git revision")
    parser.add_argument("--size", type=int, default=10, help="command bytes (default 10)")
    parser.add_argument("--concurrency", type=int, default=1024, help="requests in flight (default 1024)")
    parser.add_argument("--rounds", type=int, default=3, help="turns of each revision (default 3)")
    parser.add_argument("--repeats", type=int, default=2, help="runs per turn (default 2)")
    parser.add_argument("--seconds", type=float, default=4.0, help="measured seconds per run (default 4)")
    parser.add_argument("--rate", type=float, default=0.0, help="an open loop of this many requests a second")
    args = parser.parse_args()
    figures: dict[str, list[dict[str, float]]] = {args.old: [], args.new: []}
    with tempfile.TemporaryDirectory(prefix="paxiom-cpu-") as tmp:
        trees = {revision: export(revision, Path(tmp)) for revision in figures}
        for _ in range(args.rounds):
            for revision, tree in trees.items():
                for run in turn(tree, args):
                    figures[revision].append(shares(run))
                    print(f"{revision}: " + ", ".join(f"{k} {v:.0f}" for k, v in shares(run).items()), flush=True)
    print(f"medians over {args.rounds} x {args.repeats} runs (CPU us per op; load {os.getloadavg()[0]:.1f} now):")
    for revision, runs in figures.items():
        medians = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(f"  {revision}: " + ", ".join(f"{k} {v:.1f}" for k, v in medians.items()))


if __name__ == "__main__":
    main()
