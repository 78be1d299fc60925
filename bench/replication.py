"""Replicated throughput and latency: paxiom against PySyncObj 0.3.17 (the Python peer), same machine, same run.

    .venv/bin/python bench/replication.py [--sizes 10,1024] [--concurrency 1,8,32,128,256,1024] [--seconds 4]
        [--peer-concurrency ...,16384] [--repeats 3] [--open-at 0.8] [--open-seconds 6] [--insecure]
        [--tuning K=V,...] [--no-peer] [--json]

Both systems run 3 nodes as separate processes on loopback, on ports the OS hands out, and serve a key-value
`put` whose value is the command size. Each measurement is a closed loop of N requests in flight (a new one
as soon as one is answered) for --seconds after one second of warm-up; the peak over the concurrency sweep is
each system's saturated throughput. The configurations are interleaved (paxiom, then PySyncObj, for every
size, concurrency and repeat) so both see the same machine load; figures are the median of --repeats with
the range. Then paxiom alone runs an open loop at 80% of its median peak (requests started on a fixed
schedule whatever the answers; latency counted from the scheduled start, so a stall is not hidden).

The two sides are not alike, and the differences favour the peer:
* paxiom runs its normal, durable mode: mutual TLS, and an `fdatasync` of every group-commit batch before
  a vote leaves or a client is answered. PySyncObj is run as its users run it by default: no journal file,
  nothing ever synced, no encryption.
* paxiom's load comes from a separate client process over the client protocol (the `AsyncClient` of
  `paxiom.client`, one multiplexed TLS connection to the leader); PySyncObj has no network client, so its
  load is generated inside the leader process (replicated method calls with a callback, answered when the
  entry is applied there), as its own benchmarks do.

CPU per op (user + system seconds of the three node processes over a run, from /proc, per acknowledged op;
paxiom's client process is reported apart in --json) is the figure the shared machine's load distorts least:
on a saturated machine throughput is roughly the CPU share a system gets divided by its CPU per op.

The disk's sync latency is reported twice: from the nodes' own `paxiom_sync_latency_seconds` histograms over
each run (mean, and the bucket bound under which 99% fell), and from a raw `fdatasync` probe of the same file
system (bench/storage.py's), before and after the runs. PySyncObj is installed into `bench/.venv-pysyncobj`,
made by this script, never as a dependency of paxiom. Every process started is stopped at the end; every wait
is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import json
import os
import queue
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import venv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storage import percentile, sync_latency

from paxiom.client.aio import AsyncClient
from paxiom.client.cluster import client_tls
from paxiom.node.clusterfile import ServiceCluster
from paxiom.node.server import GC_THRESHOLDS, run_loop
from paxiom.node.supervisor import CLIENT, Supervisor, free_ports, prepare, statuses, wait_ready

PEER = "pysyncobj==0.3.17"
PEER_VENV = Path(__file__).parent / ".venv-pysyncobj"
SESSIONS = 4096
"""Client sessions of the one paxiom client (a session has one request in flight). More than the closed loops
keep in flight: an open loop's requests beyond the sessions wait in the client for one, and with 1,024 an
open loop at 80% of a 17,000/s peak had room for only 75 ms of latency before that queue grew."""
KEYS = 1000

PEER_NODE = r"""
import json, sys, threading, time
from pysyncobj import FAIL_REASON, SyncObj, SyncObjConf, replicated

class Store(SyncObj):
    def __init__(self, me, partners):
        super().__init__(me, partners, SyncObjConf())
        self.data = {}

    @replicated
    def put(self, key, value):
        self.data[key] = value

def say(**doc):
    sys.stdout.write(json.dumps(doc) + "\n"); sys.stdout.flush()

def load(obj, spec):
    # closed loop (rate 0) or open loop (rate > 0), timed from the intended start; answered when applied here
    value, n, rate = b"x" * spec["size"], spec["concurrency"], spec["rate"]
    start = time.perf_counter() + 0.05
    warm, end = start + spec["warmup"], start + spec["warmup"] + spec["seconds"]
    lock, drained = threading.Lock(), threading.Event()
    state = {"flying": 0, "done": 0, "failed": 0, "k": 0}
    lat = []
    def issue(due):
        with lock:
            state["flying"] += 1; state["k"] += 1; k = state["k"]
        obj.put("k%d" % (k % 1000), value, callback=lambda res, err: answered(due, err))
    def answered(due, err):
        now = time.perf_counter()
        with lock:
            state["flying"] -= 1
            if err == FAIL_REASON.SUCCESS:
                state["done"] += 1
                if warm <= due and now <= end:
                    lat.append(now - due)
            else:
                state["failed"] += 1
            flying = state["flying"]
        if rate == 0 and now < end:
            issue(time.perf_counter())
        elif flying == 0 and now >= end:
            drained.set()
    while time.perf_counter() < start:
        time.sleep(0.001)
    if rate == 0:
        for _ in range(n):
            issue(time.perf_counter())
    else:
        for k in range(int(rate * (end - start))):
            due = start + k / rate
            while time.perf_counter() < due:
                time.sleep(0.0005)
            issue(due)
    while time.perf_counter() < end:
        time.sleep(0.01)
    drained.wait(10)
    return {"latencies": lat, "window": spec["seconds"], "done": state["done"], "failed": state["failed"]}

me, partners = sys.argv[1], sys.argv[2].split(",")
obj = Store(me, partners)
say(up=True)
for line in sys.stdin:
    spec = json.loads(line)
    if spec["op"] == "role":
        say(leader=obj._isLeader(), known=obj._getLeader() is not None)
    elif spec["op"] == "load":
        say(**load(obj, spec)) if obj._isLeader() else say(follower=True)
    else:
        break
obj.destroy()
"""


def ensure_peer() -> Path:
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        print(f"installing {PEER} into {PEER_VENV} (once)", file=sys.stderr)
        venv.create(PEER_VENV, with_pip=True)
        (PEER_VENV / ".gitignore").write_text("*\n")
        subprocess.run([str(python), "-m", "pip", "install", "-q", PEER], check=True, timeout=600)
    return python


@dataclass
class Run:
    """One measurement: acknowledged requests within the window and their latencies (seconds)."""

    latencies: list[float]
    window: float
    failed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.window

    def figures(self) -> dict[str, Any]:
        ms = [x * 1000 for x in self.latencies] or [float("nan")]
        return {
            "ops_per_s": round(self.rate, 1),
            "p50_ms": round(percentile(ms, 0.5), 2),
            "p99_ms": round(percentile(ms, 0.99), 2),
            "failed": self.failed,
            **self.extra,
        }


# ---------------------------------------------------------------------------------------------- PySyncObj


class PeerCluster:
    """Three PySyncObj processes, driven over stdin/stdout (JSON lines), each in its own process group."""

    def __init__(self, python: Path) -> None:
        ports = free_ports(3)
        addresses = [f"127.0.0.1:{p}" for p in ports]
        self.procs: list[subprocess.Popen[str]] = []
        self.lines: list[queue.Queue[str]] = []
        for i, me in enumerate(addresses):
            others = ",".join(a for j, a in enumerate(addresses) if j != i)
            proc = subprocess.Popen(
                [str(python), "-c", PEER_NODE, me, others],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True,
            )  # fmt: skip
            lines: queue.Queue[str] = queue.Queue()
            threading.Thread(target=_pipe, args=(proc, lines), daemon=True).start()
            self.procs.append(proc)
            self.lines.append(lines)
        for i in range(3):
            self._read(i, 30)

    def _ask(self, i: int, timeout: float, **spec: Any) -> dict[str, Any]:
        stdin = self.procs[i].stdin
        assert stdin is not None
        stdin.write(json.dumps(spec) + "\n")
        stdin.flush()
        return self._read(i, timeout)

    def _read(self, i: int, timeout: float) -> dict[str, Any]:
        try:
            doc: dict[str, Any] = json.loads(self.lines[i].get(timeout=timeout))
        except queue.Empty:
            raise RuntimeError(f"PySyncObj node {i} said nothing within {timeout:g} s") from None
        return doc

    def leader(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            roles = [self._ask(i, 5, op="role") for i in range(3)]
            leaders = [i for i, r in enumerate(roles) if r["leader"]]
            if len(leaders) == 1 and all(r["known"] for r in roles):
                return leaders[0]
            time.sleep(0.2)
        raise RuntimeError("PySyncObj elected no leader")

    def load(self, size: int, concurrency: int, seconds: float, warmup: float) -> Run:
        spec = {"op": "load", "size": size, "concurrency": concurrency, "rate": 0, "seconds": seconds}
        pids = [p.pid for p in self.procs]
        cpu = cpu_seconds(pids)
        doc = self._ask(self.leader(), seconds + warmup + 30, **spec, warmup=warmup)
        if doc.get("follower"):  # lost the lead between the question and the load: once more
            cpu = cpu_seconds(pids)
            doc = self._ask(self.leader(), seconds + warmup + 30, **spec, warmup=warmup)
        cpu = cpu_seconds(pids) - cpu
        extra = {"cpu_us_per_op": round(cpu / max(1, doc["done"]) * 1e6)}
        return Run(doc["latencies"], doc["window"], doc["failed"], extra)

    def stop(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(OSError, ValueError):
                assert proc.stdin is not None
                proc.stdin.write('{"op": "stop"}\n')
                proc.stdin.close()
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


def _pipe(proc: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.put(line)


# ---------------------------------------------------------------------------------------------- paxiom


def scrape(sc: ServiceCluster) -> dict[str, dict[str, float]]:
    """Every node's sync histogram: {node: {"sum": s, "count": n, "le=<bound>": cumulative count}}."""
    found: dict[str, dict[str, float]] = {}
    for node, address in sc.metrics.items():
        with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as reply:
            text = reply.read().decode()
        figures: dict[str, float] = {}
        for line in text.splitlines():
            if line.startswith("paxiom_sync_latency_seconds_"):
                name, value = line.rsplit(" ", 1)
                kind = name.split("{")[0].removeprefix("paxiom_sync_latency_seconds_")
                if kind == "bucket":
                    kind = "le=" + name.split('le="')[1].split('"')[0]
                figures[kind] = float(value)
        found[node] = figures
    return found


def sync_figures(before: dict[str, float], after: dict[str, float], window: float) -> dict[str, Any]:
    """One node's fdatasyncs between two scrapes: count per second, mean, and the bucket bound holding 99%."""
    count = after.get("count", 0) - before.get("count", 0)
    if count <= 0:
        return {"syncs_per_s": 0.0, "sync_mean_ms": None, "sync_p99_le_ms": None}
    bounds = sorted(
        (float(k[3:]), after[k] - before.get(k, 0)) for k in after if k.startswith("le=") and k != "le=+Inf"
    )
    p99 = next((b for b, n in bounds if n >= 0.99 * count), float("inf"))
    return {
        "syncs_per_s": round(count / window, 1),
        "sync_mean_ms": round((after["sum"] - before["sum"]) / count * 1000, 2),
        "sync_p99_le_ms": p99 * 1000,
    }


class Paxiom:
    """A 3-node paxiom cluster (its own processes, under `Supervisor`) and one client in this process."""

    def __init__(self, root: Path, insecure: bool, tuning: dict[str, int] | None = None) -> None:
        path = prepare(root, 3, cluster_id="bench", tuning=tuning)
        self.supervisor = Supervisor(path, insecure=insecure, restart=False)
        self.sc = self.supervisor.sc
        self.insecure = insecure
        self.supervisor.start_all()

    async def start(self) -> None:
        summary = await wait_ready(self.sc, time.monotonic() + 60, insecure=self.insecure)
        if not summary["leader"]:
            raise RuntimeError(f"paxiom elected no leader: {summary}")
        tls = client_tls(self.sc, CLIENT, insecure=self.insecure)
        self.client = AsyncClient(self.sc.clients, tls, sessions=SESSIONS, timeout=60, attempt_timeout=30)
        await self.client.put("warm-up", b"x")

    async def commit_index(self) -> int:
        found = await statuses(self.sc, client=CLIENT, insecure=self.insecure)
        return max((d["commit_index"] for d in found.values() if isinstance(d, dict)), default=0)

    async def load(self, size: int, concurrency: int, seconds: float, warmup: float, rate: float = 0) -> Run:
        """Closed loop of `concurrency` in flight (rate 0), or an open loop starting `rate` requests a second."""
        value, loop = b"x" * size, asyncio.get_running_loop()
        keys = itertools.cycle([f"k{i}" for i in range(KEYS)])
        start = loop.time() + 0.05
        warm, end = start + warmup, start + warmup + seconds
        latencies: list[float] = []
        failed = answered = 0

        async def one(due: float) -> None:
            nonlocal failed, answered
            try:
                await self.client.put(next(keys), value)
            except Exception:
                failed += 1
                return
            answered += 1
            now = loop.time()
            if warm <= due and now <= end:
                latencies.append(now - due)

        async def closed() -> None:
            while (due := loop.time()) < end:
                await one(due)

        before_sync, before_commit = scrape(self.sc), await self.commit_index()
        pids = {node: p.popen.pid for node, p in self.supervisor.processes.items()}
        per_node = {node: cpu_seconds([pid]) for node, pid in pids.items()}
        cpu_client = time.process_time()
        await asyncio.sleep(max(0.0, start - loop.time()))
        if rate == 0:
            tasks = [loop.create_task(closed()) for _ in range(concurrency)]
        else:
            tasks = []
            for k in range(int(rate * (end - start))):
                due = start + k / rate
                if due > loop.time():
                    await asyncio.sleep(due - loop.time())
                tasks.append(loop.create_task(one(due)))
        await asyncio.wait_for(asyncio.gather(*tasks), seconds + warmup + 60)
        elapsed = loop.time() - start
        per_node = {node: cpu_seconds([pid]) - per_node[node] for node, pid in pids.items()}
        cpu_client = time.process_time() - cpu_client
        after_sync, after_commit = scrape(self.sc), await self.commit_index()
        roles = await statuses(self.sc, client=CLIENT, insecure=self.insecure)
        syncs = {n: sync_figures(before_sync[n], after_sync[n], elapsed) for n in self.sc.nodes}
        slots = after_commit - before_commit
        extra = {
            "commands_per_slot": round(answered / slots, 1) if slots else None,
            "cpu_us_per_op": round(sum(per_node.values()) / max(1, answered) * 1e6),
            "node_cpu_us_per_op": {  # which process bounds the rest: the leader's share, each follower's
                f"{node} ({doc['role'] if isinstance(doc := roles.get(node), dict) else '?'})": round(
                    cpu / max(1, answered) * 1e6, 1
                )
                for node, cpu in per_node.items()
            },
            "client_cpu_us_per_op": round(cpu_client / max(1, answered) * 1e6),
            "sync": syncs,
        }
        return Run(latencies, seconds, failed, extra)

    async def stop(self) -> None:
        if hasattr(self, "client"):
            await self.client.close()

    def kill(self) -> None:
        self.supervisor.stop()


# ---------------------------------------------------------------------------------------------- the run


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of processes (all their threads) so far, from /proc."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def probe(root: Path, syncs: int = 100) -> dict[str, float]:
    ms = [s * 1000 for s in sync_latency(root, syncs, os.urandom(64))[0]]  # the fdatasync alone
    return {
        "p50_ms": round(percentile(ms, 0.5), 2),
        "p99_ms": round(percentile(ms, 0.99), 2),
        "max_ms": round(max(ms), 2),
    }


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    rates = [r["ops_per_s"] for r in runs]
    return {
        "ops_per_s": statistics.median(rates),
        "ops_min": min(rates),
        "ops_max": max(rates),
        "p50_ms": statistics.median(r["p50_ms"] for r in runs),
        "p99_ms": statistics.median(r["p99_ms"] for r in runs),
        "p99_max_ms": max(r["p99_ms"] for r in runs),
        "runs": runs,
    }


def leader_sync(run: dict[str, Any]) -> str:
    """The busiest node's syncs (the leader's, normally) as `N/s mean M ms, p99 <= B ms`."""
    syncs = run.get("sync") or {}
    if not syncs:
        return ""
    best = max(syncs.values(), key=lambda s: s["syncs_per_s"])
    if best["sync_mean_ms"] is None:
        return "no syncs"
    return f"{best['syncs_per_s']:.0f}/s, mean {best['sync_mean_ms']:.1f} ms, p99 <= {best['sync_p99_le_ms']:g} ms"


def brief(f: dict[str, Any]) -> str:
    figures = f"{f['ops_per_s']:>8.0f} ops/s p50 {f['p50_ms']:>7.2f} ms p99 {f['p99_ms']:>7.2f} ms"
    split = ""
    if "node_cpu_us_per_op" in f:  # paxiom's: each node's share, and the client process's
        nodes = ", ".join(f"{node} {us:.0f}" for node, us in f["node_cpu_us_per_op"].items())
        split = f" ({nodes}; client {f['client_cpu_us_per_op']})"
    return f"{figures} cpu/op {f['cpu_us_per_op']} us{split}  {leader_sync(f)}  (load {f['load']})"


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def measure(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    python = None if args.no_peer else ensure_peer()
    sizes = [int(x) for x in args.sizes.split(",")]
    levels = {"paxiom": [int(x) for x in args.concurrency.split(",")]}
    levels["pysyncobj"] = [int(x) for x in args.peer_concurrency.split(",")]
    if max(levels["paxiom"]) > SESSIONS:
        raise SystemExit(f"--concurrency above {SESSIONS} sessions")
    doc: dict[str, Any] = {"load_before": load_average(), "probe_before": probe(root / "probe-before")}
    closed: dict[str, dict[int, dict[int, list[dict[str, Any]]]]] = {"paxiom": {}, "pysyncobj": {}}
    tuning = dict(item.split("=") for item in args.tuning.split(",")) if args.tuning else {}
    ours = Paxiom(root / "paxiom", args.insecure, {k: int(v) for k, v in tuning.items()} or None)
    peer: PeerCluster | None = None
    try:
        await ours.start()
        peer = None if python is None else PeerCluster(python)
        every = sorted(set(levels["paxiom"]) | set(levels["pysyncobj"]))
        for rep, size, level in itertools.product(range(args.repeats), sizes, every):
            for name in ("paxiom", "pysyncobj"):
                if (name == "pysyncobj" and peer is None) or level not in levels[name]:
                    continue
                if name == "paxiom":
                    run = await ours.load(size, level, args.seconds, args.warmup)
                else:
                    assert peer is not None and python is not None
                    try:
                        run = await asyncio.to_thread(peer.load, size, level, args.seconds, args.warmup)
                    except RuntimeError as exc:  # e.g. its journal's IndexError under load: no leader any more
                        log(f"PySyncObj failed ({exc}); its cluster restarts and this run is measured again")
                        peer.stop()
                        peer = PeerCluster(python)
                        run = await asyncio.to_thread(peer.load, size, level, args.seconds, args.warmup)
                figures = run.figures() | {"load": load_average()}
                closed[name].setdefault(size, {}).setdefault(level, []).append(figures)
                log(f"[{rep + 1}/{args.repeats}] {name:<9} {size:>5} B x {level:>4} in flight: {brief(figures)}")
        doc["closed"] = {
            name: {
                size: {level: summary(runs) for level, runs in by_level.items()} for size, by_level in by_size.items()
            }
            for name, by_size in closed.items()
        }
        doc["open"] = []
        for size, fraction in itertools.product(sizes, (float(x) for x in args.open_at.split(","))):
            peak = max(s["ops_per_s"] for s in doc["closed"]["paxiom"][size].values())
            rate = fraction * peak
            runs = []
            for rep in range(args.repeats):
                run = await ours.load(size, 0, args.open_seconds, args.warmup, rate=rate)
                figures = run.figures() | {"load": load_average()}
                runs.append(figures)
                log(f"[{rep + 1}/{args.repeats}] paxiom open loop {size:>5} B at {rate:.0f}/s: {brief(figures)}")
            doc["open"].append({"size": size, "fraction": fraction, "rate": round(rate, 1), **summary(runs)})
    finally:
        await ours.stop()
        ours.kill()
        if peer is not None:
            peer.stop()
    doc["probe_after"] = probe(root / "probe-after")
    doc["load_after"] = load_average()
    return doc


def table(doc: dict[str, Any], args: argparse.Namespace) -> Iterator[str]:
    mode = "plaintext" if args.insecure else "mutual TLS"
    yield (f"3 nodes each on loopback; paxiom: {mode}, fdatasync every batch, load from a client process; "
           f"PySyncObj 0.3.17: no sync, no journal, load inside its leader. Median of {args.repeats} runs of "
           f"{args.seconds:g} s (range). Load average {doc['load_before']} -> {doc['load_after']}")  # fmt: skip
    for when in ("before", "after"):
        p = doc[f"probe_{when}"]
        yield f"raw fdatasync probe {when}: p50 {p['p50_ms']} ms, p99 {p['p99_ms']} ms, max {p['max_ms']} ms"
    latency = f"{'p50 ms':>7} {'p99 ms':>7}"
    head = f"{'size':>5} {'flight':>6} | {'paxiom ops/s':>19} {latency} {'cmd/slot':>8} {'cpu/op':>6} | "
    head += f"{'PySyncObj ops/s':>19} {latency} {'cpu/op':>6} | {'ratio':>5} | paxiom leader fdatasync"
    yield head
    yield "-" * len(head)
    closed = doc["closed"]
    for size in closed["paxiom"]:
        ours_by, peer_by = closed["paxiom"][size], closed["pysyncobj"].get(size, {})
        for level in sorted(set(ours_by) | set(peer_by)):
            ours, peer = ours_by.get(level), peer_by.get(level)
            row = f"{size:>5} {level:>6} | "
            if ours:
                cps = statistics.median(r["commands_per_slot"] or 0 for r in ours["runs"])
                row += f"{rate(ours):>19} {ours['p50_ms']:>7.2f} {ours['p99_ms']:>7.2f} {cps:>8.1f} {cpu(ours):>6} | "
            else:
                row += f"{'-':>19} {'-':>7} {'-':>7} {'-':>8} {'-':>6} | "
            if peer:
                row += f"{rate(peer):>19} {peer['p50_ms']:>7.2f} {peer['p99_ms']:>7.2f} {cpu(peer):>6} | "
            else:
                row += f"{'-':>19} {'-':>7} {'-':>7} {'-':>6} | "
            row += f"{ours['ops_per_s'] / peer['ops_per_s']:>5.2f} | " if ours and peer else f"{'-':>5} | "
            yield row + (leader_sync(ours["runs"][len(ours["runs"]) // 2]) if ours else "")
        ours_peak = max(ours_by.values(), key=lambda s: s["ops_per_s"])
        line = f"{size:>5} {'peak':>6} | paxiom {rate(ours_peak)}"
        if peer_by:
            peer_peak = max(peer_by.values(), key=lambda s: s["ops_per_s"])
            line += f", PySyncObj {rate(peer_peak)}: ratio {ours_peak['ops_per_s'] / peer_peak['ops_per_s']:.2f}"
        yield line
    yield "cpu/op: CPU microseconds per acknowledged op, summed over the 3 node processes (not paxiom's client)"
    for o in doc["open"]:
        where = f"{o['size']} B at {o['rate']:.0f}/s ({o['fraction']:.0%} of peak)"
        latency = f"p50 {o['p50_ms']:.2f} ms, p99 {o['p99_ms']:.2f} ms (worst run {o['p99_max_ms']:.2f} ms)"
        yield f"paxiom open loop, {where}: {rate(o)} ops/s, {latency}"


def cpu(s: dict[str, Any]) -> str:
    return f"{statistics.median(r['cpu_us_per_op'] for r in s['runs']):.0f}"


def rate(s: dict[str, Any]) -> str:
    return f"{s['ops_per_s']:.0f} ({s['ops_min']:.0f}-{s['ops_max']:.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,1024", help="command sizes in bytes (default 10,1024)")
    parser.add_argument("--concurrency", default="1,8,32,128,256,1024", help="paxiom's requests in flight to sweep")
    parser.add_argument(
        "--peer-concurrency",
        default="1,8,32,128,256,1024,4096,16384",
        help="PySyncObj's (more: it sends appends every 100 ms, so it needs rate x 0.1 s in flight)",
    )
    parser.add_argument("--seconds", type=float, default=4.0, help="measured seconds per run (default 4)")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each (default 1)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per configuration (default 3)")
    parser.add_argument("--open-at", default="0.8", help="open-loop rates as fractions of paxiom's peak (default 0.8)")
    parser.add_argument("--open-seconds", type=float, default=6.0, help="measured seconds of each open-loop run")
    parser.add_argument("--insecure", action="store_true", help="paxiom in plaintext (default: mutual TLS)")
    parser.add_argument("--tuning", default="", help="paxiom [service] settings, e.g. batch_size=1024,window=16")
    parser.add_argument("--no-peer", action="store_true", help="measure paxiom only")
    parser.add_argument("--dir", type=Path, default=Path.cwd(), help="where the data directories go (a real disk)")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout (the table on stderr)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir, prefix=".bench-replication-") as tmp:
        gc.set_threshold(*GC_THRESHOLDS)  # the load generator's process tuned as a node's (paxiom.node.server.main)
        doc = run_loop(measure(args, Path(tmp)))
    lines = "\n".join(table(doc, args))
    if args.json:
        print(lines, file=sys.stderr)
        print(json.dumps(doc, indent=1))
    else:
        print(lines)


if __name__ == "__main__":
    main()
