"""A local cluster for development and the demo: certificates, ports, data directories, one process a node.

`prepare` lays out a directory — `cluster.toml` (majority quorums, loopback addresses on ports the OS
handed out), `tls/` (the cluster CA, node certificates and an `admin` client certificate, as `paxiom
cluster init` writes them), `data/<node>/`, `logs/<node>.log` — or reuses one laid out before, so a
second `up` restarts the same cluster on its data. `Supervisor` runs each node in its own process group,
restarts one that dies (a bounded number of times, after a pause), and on stop sends SIGTERM, then
SIGKILL to whatever is left after a grace period. `pids.json` names the running processes (the demo
kills the leader by its pid).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from paxiom.client.aio import AsyncClient
from paxiom.client.cluster import client_tls
from paxiom.errors import PaxiomError
from paxiom.impl import observe
from paxiom.node import tls
from paxiom.node.clusterfile import Address, ServiceCluster, load_service_cluster, render

CLUSTER_FILE = "cluster.toml"
CLIENT = "admin"
NODE_COMMAND = [sys.executable, "-c", "from paxiom.cli.main import main; main(prog_name='paxiom')", "node"]
GRACE = 10.0
"""Seconds between SIGTERM and SIGKILL on stop."""
MAX_RESTARTS = 5


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """Ports the OS hands out now (all bound at once, so distinct), released for the nodes to bind."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for s in sockets:
            s.bind((host, 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def prepare(
    directory: Path,
    n: int,
    *,
    cluster_id: str = "local",
    tuning: dict[str, int] | None = None,
    fast: int | None = None,
    auxiliaries: int = 0,
    client_names: tuple[str, ...] = (CLIENT,),
) -> Path:
    """Lay out (or reuse) a local cluster of `n` nodes in `directory`, with fast quorums of `fast` nodes if
    given (Fast Paxos), or the last `auxiliaries` of them auxiliaries (Cheap Paxos), and certificates for
    `client_names`; returns its cluster file."""
    path = directory / CLUSTER_FILE
    if path.exists():
        sc = load_service_cluster(path)
        if len(sc.nodes) != n or (auxiliaries and len(sc.auxiliaries) != auxiliaries):
            held = f"{len(sc.nodes)}-node cluster with {len(sc.auxiliaries)} auxiliaries"
            raise PaxiomError(f"already holds a {held}; use that layout or another --dir", where=str(directory))
        return path
    if n < 1:
        raise PaxiomError("a cluster needs at least one node")
    mains = n - auxiliaries
    if auxiliaries and (fast is not None or mains < 2 or auxiliaries >= mains):
        raise PaxiomError(
            "Cheap Paxos needs at least 2 mains, more mains than auxiliaries, and no fast quorums: "
            f"not {mains} mains and {auxiliaries} auxiliaries" + (" with fast quorums" if fast else "")
        )
    nodes = [f"n{i}" for i in range(1, n + 1)]
    ports = free_ports(3 * n)
    peers = {node: Address("127.0.0.1", ports[i]) for i, node in enumerate(nodes)}
    clients = {node: Address("127.0.0.1", ports[n + i]) for i, node in enumerate(nodes)}
    metrics = {node: Address("127.0.0.1", ports[2 * n + i]) for i, node in enumerate(nodes)}
    text = render(
        nodes,
        peers,
        clients,
        metrics,
        cluster_id=cluster_id,
        tls_dir="tls",
        tuning=tuning,
        fast=fast,
        auxiliaries=auxiliaries,
    )
    directory.mkdir(parents=True, exist_ok=True)
    tls.generate(directory / "tls", cluster_id, nodes, list(client_names))
    path.write_text(text, encoding="utf-8")
    return path


@dataclass
class Process:
    node: str
    popen: subprocess.Popen[bytes]
    log: IO[bytes]
    started: float = field(default_factory=time.monotonic)
    restarts: int = 0


class Supervisor:
    def __init__(
        self,
        cluster_file: Path,
        *,
        insecure: bool = False,
        extra: list[str] | None = None,
        restart: bool = True,
        trace_dir: Path | None = None,
    ) -> None:
        self.path = cluster_file
        self.root = cluster_file.parent
        self.sc = load_service_cluster(cluster_file)
        self.insecure = insecure
        self.extra = extra or []
        self.restart = restart
        self.trace_dir = trace_dir
        """Nodes write `--trace` records here; a node killed by a signal gets its `Crash` record appended."""
        self.processes: dict[str, Process] = {}

    def command(self, node: str) -> list[str]:
        data = self.root / "data" / node
        return [
            *NODE_COMMAND,
            "--config",
            str(self.path),
            "--id",
            node,
            "--data-dir",
            str(data),
            *(["--trace", str(self.trace_dir)] if self.trace_dir is not None else []),
            *(["--insecure"] if self.insecure else []),
            *self.extra,
        ]

    def start(self, node: str, restarts: int = 0) -> Process:
        logs = self.root / "logs"
        logs.mkdir(exist_ok=True)
        log = (logs / f"{node}.log").open("ab")
        popen = subprocess.Popen(
            self.command(node), stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
        process = Process(node, popen, log, restarts=restarts)
        self.processes[node] = process
        self._publish()
        return process

    def start_all(self) -> None:
        for node in self.sc.nodes:
            self.start(node)

    def _publish(self) -> None:
        pids = {node: p.popen.pid for node, p in self.processes.items() if p.popen.poll() is None}
        tmp = self.root / "pids.json.tmp"
        tmp.write_text(json.dumps(pids, indent=2) + "\n")
        tmp.replace(self.root / "pids.json")

    def reap(self) -> list[tuple[str, int, bool]]:
        """Nodes that exited since the last call: (node, exit status, restarted)."""
        events = []
        for node, process in list(self.processes.items()):
            code = process.popen.poll()
            if code is None:
                continue
            process.log.close()
            if code < 0 and self.trace_dir is not None:  # killed: the trace says so before the next incarnation
                with (self.trace_dir / f"{node}.jsonl").open("a", encoding="utf-8") as trace:
                    trace.write(observe.dumps(observe.Crash(self.sc.index(node))) + "\n")
            again = self.restart and process.restarts < MAX_RESTARTS
            if again:
                self.start(node, process.restarts + 1)
            else:
                del self.processes[node]
                self._publish()
            events.append((node, code, again))
        return events

    def can_elect(self) -> bool:
        """Whether the nodes still running (none reaped yet) hold a phase-1 and a phase-2 quorum, so a
        leader can still come up; `cluster up` stops waiting once it cannot."""
        quorums = self.sc.cluster.quorum_system
        running = sum(1 << self.sc.index(node) for node, p in self.processes.items() if p.popen.poll() is None)
        return quorums.phase1.is_quorum(running) and quorums.phase2.is_quorum(running)

    def stop(self) -> None:
        """SIGTERM every node's process group, wait up to GRACE, then SIGKILL what is left."""
        for process in self.processes.values():
            _signal(process.popen, signal.SIGTERM)
        deadline = time.monotonic() + GRACE
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.popen.wait(max(0.0, deadline - time.monotonic()))
            if process.popen.poll() is None:
                _signal(process.popen, signal.SIGKILL)
                process.popen.wait(5)
            process.log.close()
        self.processes.clear()
        with contextlib.suppress(FileNotFoundError):
            (self.root / "pids.json").unlink()


def _signal(popen: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(popen.pid, sig)


async def statuses(
    sc: ServiceCluster, *, client: str | None = None, insecure: bool = False, timeout: float = 2.0
) -> dict[str, dict[str, Any] | str]:
    """Every node's own status document, with whether the cluster file makes it a Cheap Paxos auxiliary
    (`auxiliary`), or why it could not be had."""
    async with AsyncClient(sc.clients, client_tls(sc, client, insecure=insecure), attempt_timeout=timeout) as c:

        async def one(node: str) -> dict[str, Any] | str:
            try:
                return {**await c.status(node), "auxiliary": node in sc.auxiliaries}
            except (OSError, TimeoutError, PaxiomError) as exc:
                return f"{type(exc).__name__}: {exc}".rstrip(": ")

        answers = await asyncio.gather(*(one(node) for node in sc.nodes))
    return dict(zip(sc.nodes, answers, strict=True))


def summarise(found: dict[str, dict[str, Any] | str]) -> dict[str, Any]:
    """The cluster's view: the leader (highest ballot among nodes leading), per-node lag behind the
    highest commit index (None for an auxiliary, which holds no log to lag in), and which nodes did not
    answer."""
    up = {node: doc for node, doc in found.items() if isinstance(doc, dict)}
    leaders = sorted((tuple(doc["ballot"]), node) for node, doc in up.items() if doc["role"] == "leader")
    top = max((doc["commit_index"] for doc in up.values()), default=0)

    def lag(doc: dict[str, Any]) -> int | None:
        return None if doc.get("auxiliary") else top - doc["commit_index"]

    return {
        "leader": leaders[-1][1] if leaders else None,
        "ballot": list(leaders[-1][0]) if leaders else None,
        "commit_index": top,
        "nodes": {
            node: ({**doc, "lag": lag(doc)} if isinstance(doc, dict) else {"error": doc}) for node, doc in found.items()
        },
        "unreachable": sorted(set(found) - set(up)),
    }


async def wait_ready(
    sc: ServiceCluster, deadline: float, *, insecure: bool = False, cancelled: Callable[[], bool] = lambda: False
) -> dict[str, Any]:
    """Poll status until every node answers and one leads, the deadline (monotonic) passes or `cancelled()`."""
    while True:
        summary = summarise(await statuses(sc, client=CLIENT, insecure=insecure, timeout=1.0))
        if (summary["leader"] and not summary["unreachable"]) or time.monotonic() >= deadline or cancelled():
            return summary
        await asyncio.sleep(0.2)
