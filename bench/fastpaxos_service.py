"""Fast Paxos against classic Multi-Paxos in the real service: latency and throughput of `paxiom node` clusters.

    .venv/bin/python bench/fastpaxos_service.py [--nodes 4] [--fast 3] [--ops 300] [--sessions 1,8]
        [--seconds 4] [--json]

Two clusters of --nodes processes on loopback with mutual TLS and fdatasync, one after the other in this run:
classic (majority quorums) and fast (the same plus `[quorums] fast`, --fast of --nodes). Against each, in this
process:

1. Latency without contention: one session puts --ops times in turn; per-op latency percentiles.
2. Contention: k client processes (each entry of --sessions) put in closed loops for --seconds; throughput and
   latency. For the fast cluster, the share of ops answered on the fast path (some node answered `ok` to the
   command sent straight to every acceptor) rather than after falling back to the leader; and the ballots
   the nodes stand at by the end (rounds count elections and, in the fast cluster, recoveries from collisions).

Ratios are fast / classic, measured in the same run. On loopback a message delay costs microseconds and a
vote costs an fdatasync, so what the fast path saves here is the leader's hop, not wire time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from paxiom.client.aio import AsyncClient, Session
from paxiom.client.cluster import client_tls
from paxiom.node.clusterfile import load_service_cluster
from paxiom.node.supervisor import CLIENT, Supervisor, prepare, statuses, wait_ready

TUNING = {"tick_ms": 10, "election_timeout": 30, "heartbeat_interval": 5}


class CountingClient(AsyncClient):
    """Counts how the fast path ended: answered there, or handed on to the classic path."""

    fast_answers = 0
    fallbacks = 0

    async def _fast(self, session: Session, op: bytes, deadline: float) -> bytes | tuple[int, str, str | None]:
        outcome = await super()._fast(session, op, deadline)
        if isinstance(outcome, bytes):
            self.fast_answers += 1
        else:
            self.fallbacks += 1
        return outcome


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latency_ms(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(1000 * statistics.median(values), 2),
        "p99_ms": round(1000 * percentile(values, 0.99), 2),
    }


async def measure(sup: Supervisor, fast: bool, ops: int, sessions: list[int], seconds: float) -> dict[str, Any]:
    sc = sup.sc
    tls = client_tls(sc, CLIENT)
    out: dict[str, Any] = {}
    async with CountingClient(sc.clients, tls, timeout=20, attempt_timeout=1.0, fast=fast) as client:
        await client.put("warm", b"up")
        took = []
        for i in range(ops):
            started = time.perf_counter()
            await client.put(f"solo{i % 16}", b"x")
            took.append(time.perf_counter() - started)
        out["solo"] = latency_ms(took)
    for k in sessions:  # k client processes: one process's clients reach every node in one order, never colliding
        workers = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                __file__,
                "--worker",
                str(sup.path),
                str(seconds),
                str(int(fast)),
                str(w),
                stdout=asyncio.subprocess.PIPE,
            )
            for w in range(k)
        ]
        reports = [json.loads((await asyncio.wait_for(w.communicate(), seconds + 60))[0]) for w in workers]
        took = [t for r in reports for t in r["took"]]
        row = {"ops_per_s": round(len(took) / seconds, 1), **latency_ms(took)}
        if fast:
            answered = sum(r["fast_answers"] for r in reports)
            row["fast_path"] = round(answered / max(1, answered + sum(r["fallbacks"] for r in reports)), 3)
        out[f"sessions={k}"] = row
    found = await statuses(sc, client=CLIENT)
    out["ballots"] = sorted({tuple(doc["ballot"]) for doc in found.values() if isinstance(doc, dict)})
    return out


async def worker(path: Path, seconds: float, fast: bool, me: int) -> dict[str, Any]:
    """One client process: puts in a closed loop for `seconds`; its latencies and how its fast path ended."""
    sc = load_service_cluster(path)
    took: list[float] = []
    c = CountingClient(sc.clients, client_tls(sc, CLIENT), timeout=20, attempt_timeout=1.0, fast=fast)
    async with c:
        stop, n = time.monotonic() + seconds, 0
        while time.monotonic() < stop:
            started = time.perf_counter()
            await c.put(f"k{me}.{n % 8}", b"y")
            took.append(time.perf_counter() - started)
            n += 1
        return {"took": took, "fast_answers": c.fast_answers, "fallbacks": c.fallbacks}


def run_cluster(
    root: Path, nodes: int, fast: int | None, ops: int, sessions: list[int], seconds: float
) -> dict[str, Any]:
    sup = Supervisor(prepare(root, nodes, cluster_id="bench", tuning=TUNING, fast=fast), restart=False)
    try:
        sup.start_all()
        summary = asyncio.run(wait_ready(sup.sc, time.monotonic() + 30))
        if not summary["leader"]:
            raise SystemExit(f"no leader in {root}")
        return asyncio.run(measure(sup, fast is not None, ops, sessions, seconds))
    finally:
        sup.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--fast", type=int, default=3)
    parser.add_argument("--ops", type=int, default=300)
    parser.add_argument("--sessions", default="1,8")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--worker", nargs=4, metavar=("CLUSTER", "SECONDS", "FAST", "ID"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        path, seconds, fast, me = args.worker
        print(json.dumps(asyncio.run(worker(Path(path), float(seconds), fast == "1", int(me)))))
        return
    sessions = [int(s) for s in args.sessions.split(",") if s]
    with tempfile.TemporaryDirectory() as tmp:
        classic = run_cluster(Path(tmp) / "classic", args.nodes, None, args.ops, sessions, args.seconds)
        fast = run_cluster(Path(tmp) / "fast", args.nodes, args.fast, args.ops, sessions, args.seconds)
    doc = {"nodes": args.nodes, "fast_quorum": args.fast, "classic": classic, "fast": fast}
    if args.json:
        print(json.dumps(doc, indent=2))
        return
    print(f"{args.nodes} nodes (processes, mutual TLS, fdatasync), fast quorums {args.fast} of {args.nodes}")
    print(f"  {'':16}{'classic':>24}{'fast':>24}  fast/classic")
    for row in ("solo", *(f"sessions={k}" for k in sessions)):
        c, f = classic[row], fast[row]
        for key in c:
            ratio = f[key] / c[key] if c[key] else float("nan")
            print(f"  {row + ' ' + key:30}{c[key]:>10}{f[key]:>24}  {ratio:.2f}")
        if "fast_path" in f:
            print(f"  {row + ' fast path':30}{'':>10}{f['fast_path']:>24}")
    print(f"  ballots at the end: classic {classic['ballots']}, fast {fast['ballots']}")


if __name__ == "__main__":
    main()
