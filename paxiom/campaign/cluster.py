"""The campaign's cluster: `paxiom node` processes on loopback (certificates, OS ports, data dirs, `--trace`),
each with its own cluster file whose peer addresses are the proxies of its outgoing links.

Built on `paxiom.node.supervisor` (layout, certificates, process groups); restarts are the campaign's, not
the supervisor's, so a kill is followed by exactly the restart the schedule says. A node can be started
as a mutant: a storage bug of `paxiom.node.storage_mutants` or a core bug of `paxiom.impl.mutants`,
installed by the interpreter's `-c` prelude before the node's code runs (a real node never imports them).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import random
import signal
import time
from pathlib import Path
from typing import Any

from paxiom.campaign.proxy import Proxies
from paxiom.errors import PaxiomError
from paxiom.impl import observe
from paxiom.impl.host import Host
from paxiom.impl.mutants import MUTANTS as CORE_MUTANTS
from paxiom.node.clusterfile import Address, render
from paxiom.node.storage_mutants import MUTANTS as STORAGE_MUTANTS
from paxiom.node.supervisor import NODE_COMMAND, Supervisor, prepare, statuses, summarise
from paxiom.variants import SERVICE

TUNING = {"tick_ms": 10, "election_timeout": 30, "heartbeat_interval": 5, "snapshot_interval": 100}
"""Elections within about half a second, and snapshots often enough that runs compact and restore."""
SERVICE_CORE_MUTANTS = tuple(name for name, info in CORE_MUTANTS.items() if info.variant in SERVICE)
"""The catalogue's bugs of the cores a node runs (Multi-, Fast and Cheap Paxos); reconfig's are the simulator's."""
MUTANTS = (*STORAGE_MUTANTS, *SERVICE_CORE_MUTANTS)


def mutants_of(variant: str) -> tuple[str, ...]:
    """The bugs a node of a `variant` cluster can carry: every storage bug, and its own core's."""
    return (*STORAGE_MUTANTS, *(m for m in SERVICE_CORE_MUTANTS if CORE_MUTANTS[m].variant == variant))


def layout(variant: str, n: int) -> tuple[int | None, int]:
    """`prepare`'s (and `render`'s) `fast` and `auxiliaries` for a `variant` cluster of `n` nodes, as `cluster
    up --fast K` and `cluster up --mains M --auxiliaries A` take them: fast quorums of ceil(3n/4) (the
    smallest two of which meet every majority), or a majority of mains and the rest auxiliaries."""
    if variant not in SERVICE:
        raise PaxiomError(f"the service runs no {variant!r} (variants: {', '.join(SERVICE)})")
    if variant == "fastpaxos":
        return math.ceil(3 * n / 4), 0
    return None, (n - (n // 2 + 1) if variant == "cheap" else 0)


def prelude(mutant: str | None) -> str:
    """The `python -c` code that starts a node, with `mutant` installed first."""
    start = NODE_COMMAND[2]
    if mutant is None:
        return start
    if mutant in STORAGE_MUTANTS:
        return f"from paxiom.node.storage_mutants import install; install({mutant!r}); {start}"
    if mutant in MUTANTS:
        return f"from paxiom.campaign.cluster import install_core_mutant; install_core_mutant({mutant!r}); {start}"
    raise PaxiomError(f"unknown mutant {mutant!r} (storage: {', '.join(STORAGE_MUTANTS)}; core: see paxiom sim)")


def install_core_mutant(name: str) -> None:
    """In a node's process, before it starts: every host the server builds carries the catalogue's bug
    `name` — its host overrides, and the core of the bug's variant (Multi-Paxos, or Fast Paxos for a fast
    bug, run on a fast cluster) with its overrides (forced, not defaulted: a server that names its core, as it
    does since it can run Cheap and Fast Paxos, would otherwise run unmutated)."""
    import paxiom.node.server as server
    from paxiom.impl.sim.mutants import core_class, host_class
    from paxiom.impl.sim.simulator import ClusterSettings

    info = CORE_MUTANTS[name]
    mutation = {info.mutation}
    host, core = host_class(mutation), core_class(mutation, ClusterSettings(variant=info.variant).core())

    def mutant_host(*args: Any, **kwargs: Any) -> Host:
        return host(*args, **{**kwargs, "core": core})

    server.Host = mutant_host  # type: ignore[attr-defined,assignment]


class CampaignSupervisor(Supervisor):
    """Runs each node on its own cluster file (`nodes/<id>.toml`), as a mutant when asked."""

    def __init__(self, path: Path, trace_dir: Path, mutant: str | None) -> None:
        super().__init__(path, restart=False, trace_dir=trace_dir)
        self.code = prelude(mutant)

    def node_file(self, node: str) -> Path:
        return self.root / "nodes" / f"{node}.toml"

    def command(self, node: str) -> list[str]:
        argv = super().command(node)
        argv[2] = self.code
        argv[argv.index(str(self.path))] = str(self.node_file(node))
        return argv


class CampaignCluster:
    def __init__(
        self, root: Path, n: int, rng: random.Random, mutant: str | None = None, variant: str = "multipaxos"
    ) -> None:
        self.root = root
        self.fast, self.auxiliaries = layout(variant, n)
        self.path = prepare(root / "cluster", n, cluster_id="campaign", tuning=TUNING, fast=self.fast,
                            auxiliaries=self.auxiliaries)  # fmt: skip
        self.trace_dir = root / "trace"
        self.supervisor = CampaignSupervisor(self.path, self.trace_dir, mutant)
        self.sc = self.supervisor.sc
        self.nodes = list(self.sc.nodes)
        self.proxies = Proxies({n: (a.host, a.port) for n, a in self.sc.peers.items()}, rng)
        self.killed: set[str] = set()
        """Nodes the campaign stopped on purpose (their exit is not a crash)."""
        self.paused: set[str] = set()
        self.crashes: list[str] = []
        """Nodes that exited on their own, with their status: a finding unless a corrupt start explains it."""

    async def start(self, ready_timeout: float = 30.0) -> None:
        await self.proxies.start()
        # the nodes' ports were handed out and released before the proxies bound theirs: move a proxy that
        # got one of them (the node could not bind it, and its cluster file would name one address twice)
        taken = {a.port for a in self.sc.peers.values()} | {a.port for a in self.sc.clients.values()}
        for proxy in self.proxies.links.values():
            for _ in range(20):
                if proxy.port not in taken:
                    break
                await proxy.stop()
                await proxy.start()
            taken.add(proxy.port)
        files = self.root / "cluster" / "nodes"
        files.mkdir(exist_ok=True)
        for node in self.nodes:
            peers = {
                peer: (a if peer == node else Address("127.0.0.1", self.proxies.port(node, peer)))
                for peer, a in self.sc.peers.items()
            }
            text = render(self.nodes, peers, self.sc.clients, {}, cluster_id=self.sc.cluster_id, tls_dir="../tls",
                          tuning=TUNING, fast=self.fast, auxiliaries=self.auxiliaries)  # fmt: skip
            self.supervisor.node_file(node).write_text(text, encoding="utf-8")
        self.supervisor.start_all()
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if (await self.leader()) is not None:
                return
            self.check_exits()
            await asyncio.sleep(0.2)
        raise PaxiomError(f"the cluster elected no leader within {ready_timeout:g} s:\n{self.tails()}")

    async def status(self) -> dict[str, Any]:
        live = [n for n in self.nodes if n not in self.paused and self.running(n)]
        found = await statuses(self.sc, timeout=1.0) if live else {}
        return summarise({n: v for n, v in found.items() if n in live})

    async def leader(self) -> str | None:
        leader: str | None = (await self.status())["leader"]
        return leader

    def running(self, node: str) -> bool:
        process = self.supervisor.processes.get(node)
        return process is not None and process.popen.poll() is None

    def pid(self, node: str) -> int:
        return self.supervisor.processes[node].popen.pid

    def check_exits(self) -> None:
        """Record nodes that exited without the campaign asking (a crash, or a refused start)."""
        for node, process in list(self.supervisor.processes.items()):
            code = process.popen.poll()
            if code is not None and node not in self.killed:
                self.crashes.append(f"{node} exited with status {code}")
                self.killed.add(node)
                process.log.close()

    async def kill(self, node: str) -> None:
        """SIGKILL the node's process group, wait for it, and append its Crash record to its trace."""
        self.check_exits()
        process = self.supervisor.processes.get(node)
        self.killed.add(node)
        if process is None:
            return
        if process.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.popen.pid, signal.SIGKILL)
            for _ in range(100):
                if process.popen.poll() is not None:
                    break
                await asyncio.sleep(0.05)
            with (self.trace_dir / f"{node}.jsonl").open("a", encoding="utf-8") as trace:
                trace.write(observe.dumps(observe.Crash(self.sc.index(node))) + "\n")
        self.paused.discard(node)
        process.log.close()

    def restart(self, node: str) -> None:
        if self.running(node):
            return
        self.killed.discard(node)
        self.supervisor.start(node)

    def signal(self, node: str, sig: signal.Signals) -> None:
        if self.running(node):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid(node), sig)
        (self.paused.add if sig == signal.SIGSTOP else self.paused.discard)(node)

    def data_dir(self, node: str) -> Path:
        return self.root / "cluster" / "data" / node

    def log_path(self, node: str) -> Path:
        return self.root / "cluster" / "logs" / f"{node}.log"

    def tail(self, node: str, lines: int = 12) -> list[str]:
        try:
            return self.log_path(node).read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
        except OSError:
            return []

    def tails(self, lines: int = 12) -> str:
        return "\n".join(f"--- {n}\n" + "\n".join(self.tail(n, lines)) for n in self.nodes)

    def rss_kib(self) -> dict[str, int]:
        found = {}
        for node in self.nodes:
            if self.running(node):
                with contextlib.suppress(OSError, ValueError, StopIteration):
                    text = Path(f"/proc/{self.pid(node)}/status").read_text()
                    found[node] = int(next(ln for ln in text.splitlines() if ln.startswith("VmRSS")).split()[1])
        return found

    async def stop(self) -> None:
        for node in list(self.paused):
            self.signal(node, signal.SIGCONT)
        await asyncio.to_thread(self.supervisor.stop)
        await self.proxies.stop()
