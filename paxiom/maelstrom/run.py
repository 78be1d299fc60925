"""One system test: start the nodes, init them, run clients and the nemesis, heal, stop, keep everything.

The harness is the network: each node's output is parsed and routed here — to another node through
`Network` (where the faults live), to a client, or to the harness's own control endpoint `c0` (init).
"""

from __future__ import annotations

import asyncio
import random
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paxiom import faultplan
from paxiom.lin.history import Event
from paxiom.maelstrom import nemesis
from paxiom.maelstrom.network import Network
from paxiom.maelstrom.proc import Finding, NodeProcess
from paxiom.maelstrom.protocol import Message
from paxiom.maelstrom.workload import Clients

CONTROL = "c0"
SERVICE = "service"  # the node named by a finding about the whole service
NEMESIS_NOTE = "-- nemesis: "  # how a fault step appears in every node's log


@dataclass(frozen=True, slots=True)
class Config:
    command: tuple[str, ...]
    nodes: int = 3
    concurrency: int = 3
    rate: float = 20.0
    time_limit: float = 10.0
    nemesis: tuple[str, ...] = ()
    seed: int = 0
    timeout: float = 1.0  # per client request
    init_timeout: float = 10.0
    replay: Path | None = None

    @property
    def node_ids(self) -> list[str]:
        return [f"n{i + 1}" for i in range(self.nodes)]


@dataclass
class Outcome:
    config: Config
    history: list[Event] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)  # as applied, with actual offsets
    findings: list[Finding] = field(default_factory=list)
    stderr: dict[str, list[tuple[float, str]]] = field(default_factory=dict)
    network: dict[str, int] = field(default_factory=dict)
    served: dict[int, str] = field(default_factory=dict)  # completion event index -> the node that answered
    started: bool = False
    base: float = 0.0  # seconds from the harness's start (time 0 of the history) to the workload's start
    seconds: float = 0.0


class Harness:
    def __init__(self, config: Config, out: Path, data_root: Path) -> None:
        self.config = config
        self.start_ns = time.monotonic_ns()
        self.outcome = Outcome(config)
        ids = config.node_ids
        self.network = Network(ids, random.Random(f"net-{config.seed}"), self._to_node)
        self.nodes = {
            n: NodeProcess(n, config.command, data_root / n, out / f"{n}.log", self.clock, self._route, self._finding)
            for n in ids
        }
        self.clients = Clients(ids, config.concurrency, config.rate, config.timeout,
                               random.Random(f"clients-{config.seed}"), self.start_ns, self._to_node,
                               self._finding)  # fmt: skip
        self._control: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._control_ids = 0

    def clock(self) -> float:
        return (time.monotonic_ns() - self.start_ns) / 1e9

    def _finding(self, finding: Finding) -> None:
        self.outcome.findings.append(finding)

    def _to_node(self, msg: Message) -> None:
        self.nodes[msg.dest].deliver(msg)

    def _route(self, msg: Message) -> None:
        if msg.dest in self.nodes:
            self.network.send(msg)
        elif msg.dest == CONTROL:
            future = self._control.pop(msg.body.get("in_reply_to", -1), None)
            if future is not None and not future.done():
                future.set_result(msg.body)
        elif msg.dest in self.clients.ids:
            self.clients.on_reply(msg)
        else:
            self._finding(Finding("garbage", msg.origin, f"sent a {msg.body['type']} to unknown destination "
                                  f"{msg.dest!r} (no Maelstrom services are provided)", self.clock()))  # fmt: skip

    async def _init(self, node: str, kind: str) -> bool:
        proc = self.nodes[node]
        if not proc.running:
            return False
        self._control_ids += 1
        msg_id = self._control_ids
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._control[msg_id] = future
        body = {"type": "init", "msg_id": msg_id, "node_id": node, "node_ids": self.config.node_ids}
        proc.deliver(Message(CONTROL, node, body))
        timeout = self.config.init_timeout
        exited = asyncio.create_task(proc.exited.wait())
        await asyncio.wait((future, exited), timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        exited.cancel()
        if not future.done():
            self._control.pop(msg_id, None)
            if not proc.exited.is_set():  # an exit is reported as a crash already
                self._finding(Finding(kind, node, f"no init_ok within {timeout:g} s", self.clock()))
            return False
        reply = future.result()
        if reply.get("type") != "init_ok":
            self._finding(Finding(kind, node, f"answered init with {reply.get('type')!r}", self.clock()))
            return False
        return True

    async def restart(self, node: str) -> None:
        proc = self.nodes[node]
        if proc.killed:
            await proc.wait_exit(2.0)
        if proc.running:
            return
        await proc.start()
        await self._init(node, "hung")

    async def _nemesis(self, steps: Sequence[dict[str, Any]], last_start: float) -> None:
        """Apply the steps in order; time spent applying one (a restart waits for init_ok) delays the rest,
        so a restarted node gets its rest period before the next fault, however slowly it starts. A fault
        pushed past `last_start` is not started, so the final quiet period stays quiet."""
        active: dict[int, dict[str, Any]] = {}
        skipped: set[int] = set()
        lag = 0.0
        for step in steps:
            if step["op"] == "start" and float(step["at"]) + lag > last_start:
                skipped.add(int(step["id"]))
                self.nodes[self.config.node_ids[0]].note(f"{NEMESIS_NOTE}skipped (past the fault window): "
                                                         f"{faultplan.describe(step)}")  # fmt: skip
            if int(step["id"]) in skipped:
                continue
            delay = float(step["at"]) + lag - self.clock()
            if delay > 0:
                await asyncio.sleep(delay)
            began = self.clock()
            await self._apply(step)
            lag += self.clock() - began
            if step["op"] == "start":
                active[int(step["id"])] = step
            else:
                active.pop(int(step["id"]), None)
        for step in list(active.values()):  # a replayed schedule that never healed: heal before the quiet end
            await self._apply({**step, "op": "heal"})

    async def _apply(self, step: dict[str, Any]) -> None:
        kind = nemesis.KINDS[step["fault"]]
        at = self.clock()
        action = kind.start if step["op"] == "start" else kind.heal
        await action(self, int(step["id"]), step["params"])
        self.outcome.steps.append({**step, "at": round(at - self.outcome.base, 3)})
        for proc in self.nodes.values():
            proc.note(f"{NEMESIS_NOTE}{faultplan.describe(step)}")

    async def run(self) -> Outcome:
        config = self.config
        try:
            await asyncio.gather(*(p.start() for p in self.nodes.values()))
            ready = await asyncio.gather(*(self._init(n, "no-init") for n in self.nodes))
            self.outcome.started = all(ready)
            if not self.outcome.started:
                return self.outcome
            if config.replay is not None:
                steps = nemesis.load(config.replay, config.node_ids)
            else:
                steps = nemesis.plan(config.nemesis, config.node_ids, random.Random(f"nemesis-{config.seed}"),
                                     config.time_limit)  # fmt: skip
            base = self.outcome.base = self.clock()
            steps = [{**s, "at": float(s["at"]) + base} for s in steps]
            last_start = base + faultplan.Window.of(config.time_limit).last
            await asyncio.gather(self.clients.run(base + config.time_limit), self._nemesis(steps, last_start))
            if self.clients.history and not any(e.type == "ok" for e in self.clients.history):
                detail = "no request got an ok answer in the whole run (answering nothing is trivially linearizable)"
                self._finding(Finding("unavailable", SERVICE, detail, self.clock()))
        finally:
            await asyncio.gather(*(p.stop() for p in self.nodes.values()))
            self.outcome.history = self.clients.history
            self.outcome.served = self.clients.served
            self.outcome.stderr = {n: p.stderr for n, p in self.nodes.items()}
            self.outcome.network = dict(self.network.stats)
            self.outcome.seconds = self.clock()
        return self.outcome


def run(config: Config, out: Path) -> Outcome:
    """Run one test; node logs go to `out`, data directories to a temporary directory removed afterwards."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("n*.log"):
        old.unlink()
    data_root = Path(tempfile.mkdtemp(prefix="paxiom-maelstrom-data-"))
    try:
        return asyncio.run(Harness(config, out, data_root).run())
    finally:
        shutil.rmtree(data_root, ignore_errors=True)
