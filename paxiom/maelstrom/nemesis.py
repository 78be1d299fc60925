"""Faults, one registry: each kind knows how to plan itself (concrete, JSON-able parameters drawn from a
seeded RNG), start and heal. A schedule is a list of start/heal steps at offsets from the run's start;
it is written to `schedule.json` and `--replay` re-applies exactly those steps.
"""

from __future__ import annotations

import json
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from paxiom.errors import PaxiomError
from paxiom.faultplan import Params, Window, all_links, plan_partition
from paxiom.maelstrom.network import Link, LinkFault, Network
from paxiom.maelstrom.proc import NodeProcess

SCHEDULE_FORMAT = "paxiom-maelstrom-schedule/1"


class Cluster(Protocol):
    network: Network
    nodes: dict[str, NodeProcess]

    async def restart(self, node: str) -> None: ...


@dataclass(frozen=True, slots=True)
class FaultKind:
    name: str
    doc: str
    plan: Callable[[random.Random, list[str]], Params]
    start: Callable[[Cluster, int, Params], Awaitable[None]]
    heal: Callable[[Cluster, int, Params], Awaitable[None]]


# --- network faults -------------------------------------------------------------------------------------------


def _links(params: Params) -> list[Link]:
    return [(a, b) for a, b in params["links"]]


async def _start_links(cluster: Cluster, fault_id: int, params: Params) -> None:
    fault = LinkFault(blocked=bool(params.get("blocked", False)), loss=float(params.get("loss", 0.0)),
                      duplicate=float(params.get("duplicate", 0.0)),
                      delay=(float(params.get("min", 0.0)), float(params.get("max", 0.0))))  # fmt: skip
    cluster.network.apply(fault_id, fault, _links(params))


async def _heal_links(cluster: Cluster, fault_id: int, params: Params) -> None:
    cluster.network.heal(fault_id)


def _plan_loss(rng: random.Random, nodes: list[str]) -> Params:
    p = round(rng.uniform(0.2, 0.5), 2)
    return {"loss": p, "links": all_links(nodes), "text": f"{p:.0%} of messages lost"}


def _plan_duplicate(rng: random.Random, nodes: list[str]) -> Params:
    p = round(rng.uniform(0.2, 0.5), 2)
    return {"duplicate": p, "links": all_links(nodes), "text": f"{p:.0%} of messages delivered twice"}


def _plan_delay(rng: random.Random, nodes: list[str]) -> Params:
    high = round(rng.uniform(0.03, 0.2), 3)
    return {"min": 0.0, "max": high, "links": all_links(nodes), "text": f"delays 0-{high * 1000:.0f} ms (reorders)"}


# --- process faults -------------------------------------------------------------------------------------------


def _plan_node(rng: random.Random, nodes: list[str]) -> Params:
    return {"node": rng.choice(nodes)}


async def _kill(cluster: Cluster, fault_id: int, params: Params) -> None:
    cluster.nodes[params["node"]].kill()


async def _wipe(cluster: Cluster, fault_id: int, params: Params) -> None:
    node = cluster.nodes[params["node"]]
    node.kill()
    await node.wait_exit(2.0)
    node.wipe()


async def _restart(cluster: Cluster, fault_id: int, params: Params) -> None:
    await cluster.restart(params["node"])


async def _pause(cluster: Cluster, fault_id: int, params: Params) -> None:
    cluster.nodes[params["node"]].pause()


async def _resume(cluster: Cluster, fault_id: int, params: Params) -> None:
    cluster.nodes[params["node"]].resume()


KINDS: dict[str, FaultKind] = {
    k.name: k
    for k in (
        FaultKind("partition", "partitions: random halves, one node isolated, a bridge, a majority ring, or one-way",
                  plan_partition, _start_links, _heal_links),
        FaultKind("loss", "every node-to-node message lost with probability p", _plan_loss, _start_links, _heal_links),
        FaultKind("duplicate", "messages delivered twice with probability p", _plan_duplicate, _start_links,
                  _heal_links),
        FaultKind("delay", "per-message random delay, which also reorders", _plan_delay, _start_links, _heal_links),
        FaultKind("kill", "kill -9 a node, restart it later keeping its data directory", _plan_node, _kill,
                  _restart),
        FaultKind("wipe", "kill -9 a node, empty its data directory, restart it (Maelstrom's crash)", _plan_node,
                  _wipe, _restart),
        FaultKind("pause", "SIGSTOP a node, SIGCONT it later", _plan_node, _pause, _resume),
    )
}  # fmt: skip


def parse_kinds(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in KINDS]
    if unknown:
        raise PaxiomError(f"unknown nemesis {', '.join(unknown)} (known: {', '.join(KINDS)})")
    return list(dict.fromkeys(names))


# --- schedules ------------------------------------------------------------------------------------------------


def plan(kinds: Sequence[str], nodes: list[str], rng: random.Random, time_limit: float) -> list[Params]:
    """One fault at a time: start, hold 0.4-1.2 s, heal, rest 0.3-0.6 s (both stretched in proportion for
    runs over 10 s, so slow failure detectors see long faults too); nothing after the window."""
    steps: list[Params] = []
    window = Window.of(time_limit)
    scale = max(1.0, time_limit / 10)
    t = window.first
    fault_id = 0
    while kinds and window.last - t >= 0.3:
        kind = KINDS[rng.choice(list(kinds))]
        params = kind.plan(rng, nodes)
        end = min(t + scale * rng.uniform(0.4, 1.2), window.last)
        steps.append({"at": round(t, 3), "op": "start", "id": fault_id, "fault": kind.name, "params": params})
        steps.append({"at": round(end, 3), "op": "heal", "id": fault_id, "fault": kind.name, "params": params})
        fault_id += 1
        t = end + scale * rng.uniform(0.3, 0.6)
    return steps


def load(path: Path, nodes: list[str]) -> list[Params]:
    """The steps of a schedule.json, checked against this run's nodes; PaxiomError if it cannot be replayed."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        steps = doc["steps"]
        for step in steps:
            if step["op"] not in ("start", "heal") or step["fault"] not in KINDS:
                raise ValueError(f"step {step!r}")
            float(step["at"]), int(step["id"])
            named = [step["params"]["node"]] if "node" in step["params"] else []
            named += [n for link in step["params"].get("links", []) for n in link]
            if any(n not in nodes for n in named):
                raise ValueError(f"it names nodes outside {' '.join(nodes)}")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PaxiomError(f"not a replayable schedule: {exc}", where=str(path)) from None
    return sorted(steps, key=lambda s: (float(s["at"]), s["op"] == "start"))
