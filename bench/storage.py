"""fdatasync latency of this disk, and appends per second through group commit for 1 and N submitters.

Run: `.venv/bin/python bench/storage.py [--dir DIR] [--syncs 200] [--seconds 3] [--submitters 1,16] [--record 64]`

Latency: `--syncs` rounds of one 64-byte record appended to a log segment then `WriteAheadLog.sync`: the
`os.fdatasync` alone (p50/p99/max), and the whole call — the sync plus the claim of the synced length that
recovery and the power-loss cut read (`synced.py`) — which is what every group commit waits for before its
completions fire. Throughput: each submitter is a thread in a closed loop (submit one record, wait for its
completion, repeat) for `--seconds`; the figures are acknowledged appends per second, fdatasyncs per
second and the mean batches per sync — with one submitter every append pays a whole sync, with many they
share it. The directory defaults to a temp dir on the file system of the working directory (not /tmp,
which may be tmpfs, where fdatasync costs nothing).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

from paxiom.node.groupcommit import GroupCommitter
from paxiom.node.synced import SyncedOffsets
from paxiom.node.wal import WriteAheadLog


def open_wal(root: Path) -> WriteAheadLog:
    (root / "wal").mkdir(parents=True)
    return WriteAheadLog.open(root / "wal", cluster_id="bench", node_id="n1", synced=SyncedOffsets(root))


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def sync_latency(root: Path, syncs: int, record: bytes) -> tuple[list[float], list[float]]:
    """(fdatasync seconds, sync-and-claim seconds) per round."""
    wal = open_wal(root)
    syncs_alone, whole = [], []
    for _ in range(syncs):
        wal.write_group([record])
        start = time.perf_counter()
        syncs_alone.append(wal.sync())
        whole.append(time.perf_counter() - start)
    wal.close()
    return syncs_alone, whole


def throughput(root: Path, submitters: int, seconds: float, record: bytes) -> tuple[float, float, float]:
    committer = GroupCommitter(open_wal(root))
    deadline = time.perf_counter() + seconds
    counts = [0] * submitters

    def loop(who: int) -> None:
        done = threading.Semaphore(0)
        while time.perf_counter() < deadline:
            committer.submit([record], lambda error: done.release())
            done.acquire()
            counts[who] += 1

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(submitters)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    committer.close()
    stats = committer.stats()
    return sum(counts) / elapsed, stats.syncs / elapsed, stats.batches / max(1, stats.syncs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path.cwd())
    parser.add_argument("--syncs", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--submitters", default="1,16")
    parser.add_argument("--record", type=int, default=64)
    args = parser.parse_args()
    record = os.urandom(args.record)
    with tempfile.TemporaryDirectory(dir=args.dir, prefix=".bench-storage-") as tmp:
        alone, whole = sync_latency(Path(tmp) / "latency", args.syncs, record)
        claims = [w - a for a, w in zip(alone, whole, strict=True)]
        for what, samples in (("fdatasync", alone), ("sync + claim", whole), ("claim alone", claims)):
            ms = [s * 1000 for s in samples]
            p50, p99, mean = percentile(ms, 0.5), percentile(ms, 0.99), sum(ms) / len(ms)
            figures = f"mean {mean:.3f} ms, p50 {p50:.3f} ms, p99 {p99:.3f} ms, max {max(ms):.3f} ms"
            print(f"{what:>12} on {args.dir}: {len(ms)} syncs, {figures}")
        for n in (int(x) for x in args.submitters.split(",")):
            rate, syncs, per_sync = throughput(Path(tmp) / f"tp{n}", n, args.seconds, record)
            rates = f"{rate:>7.0f} appends/s, {syncs:>6.0f} fdatasyncs/s, {per_sync:.1f} per sync"
            print(f"group commit, {n:>3} submitters: {rates}")


if __name__ == "__main__":
    main()
