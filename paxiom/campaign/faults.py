"""The campaign's faults, one registry in the shape of `paxiom.maelstrom.nemesis` (partition shapes, the
fault window and step wording come from `paxiom.faultplan`, which both share): each kind plans concrete
JSON-able parameters from a seeded RNG, starts and heals. A target of "leader" is resolved when the fault
starts, and the executed schedule records the node it hit, so `--replay` re-applies exactly what happened.
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paxiom.campaign.cluster import CampaignCluster
from paxiom.campaign.disk import corrupt
from paxiom.campaign.hostile import STRANGERS, Attacker
from paxiom.errors import PaxiomError
from paxiom.faultplan import Window, all_links, describe, plan_partition
from paxiom.node.powerloss import power_loss
from paxiom.node.reconfigure import propose
from paxiom.variants import SERVICE

SCHEDULE_FORMAT = "paxiom-campaign-schedule/1"
Params = dict[str, Any]


@dataclass
class Context:
    """What a fault acts on, and what it counts."""

    cluster: CampaignCluster
    attacker: Attacker
    rng: random.Random
    counts: dict[str, int] = field(default_factory=dict)
    corruption: list[dict[str, Any]] = field(default_factory=list)
    leader_losses: list[float] = field(default_factory=list)
    """Monotonic times at which a fault took the leader away."""

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n


@dataclass(frozen=True, slots=True)
class FaultKind:
    name: str
    doc: str
    plan: Callable[[random.Random, list[str]], Params]
    start: Callable[[Context, Params], Awaitable[None]]
    heal: Callable[[Context, Params], Awaitable[None]]
    hold: tuple[float, float] = (0.8, 2.0)
    minority: bool = True
    """Leaves a majority able to serve (its window counts towards the availability figure)."""
    variants: tuple[str, ...] = SERVICE
    """The service variants it applies to; `why_only` says why not to the others."""
    why_only: str = ""


async def _resolve(ctx: Context, params: Params) -> str:
    """The node a fault hits; "leader" becomes the current leader (or a random node if none leads)."""
    if params.get("node") == "leader":
        leader = await ctx.cluster.leader()
        params["node"] = leader or ctx.rng.choice(ctx.cluster.nodes)
        params["was_leader"] = leader is not None
        if leader is not None:
            ctx.leader_losses.append(time.monotonic())
    node: str = params["node"]
    return node


def _plan_target(rng: random.Random, nodes: list[str]) -> Params:
    return {"node": "leader" if rng.random() < 0.5 else rng.choice(nodes)}


# --- process faults -------------------------------------------------------------------------------------------


async def _kill(ctx: Context, params: Params) -> None:
    await ctx.cluster.kill(await _resolve(ctx, params))


async def _restart(ctx: Context, params: Params) -> None:
    for node in params.get("nodes", [params.get("node")]):
        ctx.cluster.restart(node)


def _plan_power(rng: random.Random, nodes: list[str]) -> Params:
    if rng.random() < 0.3:  # the whole cluster loses power at once (one rack, one feed)
        return {"nodes": list(nodes), "seed": rng.randrange(1 << 32), "text": "every node loses power"}
    return {**_plan_target(rng, nodes), "seed": rng.randrange(1 << 32)}


async def _power(ctx: Context, params: Params) -> None:
    """SIGKILL, then every storage file cut back to its synced length (maybe with a torn fragment)."""
    if "nodes" not in params:
        params["nodes"] = [await _resolve(ctx, params)]
    rng = random.Random(params["seed"])
    for node in params["nodes"]:
        await ctx.cluster.kill(node)
    for node in params["nodes"]:
        cuts = power_loss(ctx.cluster.data_dir(node), rng)
        ctx.count("power-bytes-lost", sum(before - after for _, before, after in cuts if after < before))


def _plan_corrupt(rng: random.Random, nodes: list[str]) -> Params:
    return {"node": rng.choice(nodes), "target": rng.choice(["wal", "wal", "snapshot"]),
            "how": rng.choice(["bitflip", "zero"]), "seed": rng.randrange(1 << 32)}  # fmt: skip


async def _corrupt(ctx: Context, params: Params) -> None:
    """Stop the node, keep a copy of its directory (the operator's current backup), damage the original and
    restart on it: a node must refuse to start on damaged synced log records."""
    node = await _resolve(ctx, params)
    cluster = ctx.cluster
    await cluster.kill(node)
    data = cluster.data_dir(node)
    backup = data.with_name(f"{node}.backup")
    shutil.rmtree(backup, ignore_errors=True)
    shutil.copytree(data, backup)
    damage = corrupt(data, random.Random(params["seed"]), params["target"], params["how"])
    params["damage"] = damage
    if "skipped" in damage:
        cluster.restart(node)
        return
    ctx.count("corruptions")
    cluster.restart(node)
    started = time.monotonic()
    while time.monotonic() - started < 8.0 and cluster.running(node):  # a refusal comes right after recovery
        if (await cluster.status())["nodes"].get(node, {}).get("role"):
            break  # it answers status: it started on the damaged directory
        await asyncio.sleep(0.2)
    refused = not cluster.running(node)
    if refused:
        cluster.killed.add(node)  # an expected exit, not a crash
    logged = any('"event": "corrupt"' in line for line in cluster.tail(node, 40))
    verdict = {"node": node, **damage, "refused": refused, "logged": logged}
    if damage["must_refuse"] and not (refused and logged):
        verdict["objection"] = f"{node} started on a log with a damaged synced record (LSN {damage['lsn']})"
    ctx.corruption.append(verdict)


async def _repair(ctx: Context, params: Params) -> None:
    """A node that refused to start gets the copy taken at the stop (exactly its state before the damage,
    and it wrote nothing since) and is restarted. A node that started (it fell back from a damaged snapshot
    to an older one and the log) keeps running on its own directory: it has synced new promises and votes
    since, which restoring the copy would take back."""
    node = params["node"]
    cluster = ctx.cluster
    data = cluster.data_dir(node)
    backup = data.with_name(f"{node}.backup")
    if not cluster.running(node) and backup.exists():
        await cluster.kill(node)  # already exited; makes sure, and records it as expected
        shutil.rmtree(data)
        backup.rename(data)
        if "skipped" not in params.get("damage", {}):
            ctx.count("repaired")
        cluster.restart(node)
    shutil.rmtree(backup, ignore_errors=True)


async def _pause(ctx: Context, params: Params) -> None:
    ctx.cluster.signal(await _resolve(ctx, params), signal.SIGSTOP)


async def _resume(ctx: Context, params: Params) -> None:
    ctx.cluster.signal(params["node"], signal.SIGCONT)


async def _retire(ctx: Context, params: Params) -> None:
    """Cheap Paxos: kill -9 a main that does not lead, long enough for the leader to suspect it and retire it
    through the auxiliaries; the heal restarts it."""
    cluster = ctx.cluster
    if "node" not in params:
        leader = await cluster.leader()
        mains = [n for n in cluster.nodes if n not in cluster.sc.auxiliaries and n != leader and cluster.running(n)]
        if not mains:
            params["nodes"] = []  # every other main is down already: nothing to retire
            return
        params["node"] = ctx.rng.choice(mains)
    await cluster.kill(params["node"])


# --- network faults -------------------------------------------------------------------------------------------


def _plan_partition_or_leader(rng: random.Random, nodes: list[str]) -> Params:
    if rng.random() < 0.3:
        return {"shape": "isolate", "node": "leader", "text": "the leader isolated"}
    return plan_partition(rng, nodes)


def _links(params: Params) -> list[tuple[str, str]]:
    return [(a, b) for a, b in params["links"]]


async def _partition(ctx: Context, params: Params) -> None:
    if params.get("node") == "leader":
        node = await _resolve(ctx, params)
        others = [n for n in ctx.cluster.nodes if n != node]
        params["links"] = [[node, o] for o in others] + [[o, node] for o in others]
        params["text"] = f"the leader {node} isolated"
    ctx.cluster.proxies.block(_links(params))


async def _unpartition(ctx: Context, params: Params) -> None:
    ctx.cluster.proxies.unblock(_links(params))


def _plan_delay(rng: random.Random, nodes: list[str]) -> Params:
    high = round(rng.uniform(0.02, 0.2), 3)
    return {"delay": high, "links": all_links(nodes), "text": f"every link delayed 0-{high * 1000:.0f} ms"}


def _plan_reset(rng: random.Random, nodes: list[str]) -> Params:
    rate = round(rng.uniform(0.5, 3.0), 2)
    return {"reset_rate": rate, "links": all_links(nodes), "text": f"connections reset {rate}/s per link"}


async def _shape(ctx: Context, params: Params) -> None:
    ctx.cluster.proxies.shape(_links(params), delay=params.get("delay"), reset_rate=params.get("reset_rate"))


async def _unshape(ctx: Context, params: Params) -> None:
    ctx.cluster.proxies.shape(_links(params), delay=0.0, reset_rate=0.0)


# --- hostile peers --------------------------------------------------------------------------------------------


def _plan_hostile(rng: random.Random, nodes: list[str]) -> Params:
    return {"node": rng.choice(nodes), "as": rng.choice(nodes), "seed": rng.randrange(1 << 32)}


async def _hostile(ctx: Context, params: Params) -> None:
    """Runs until healed: strangers and garbage from an authenticated peer, one connection at a time."""
    node, cluster = params["node"], ctx.cluster
    as_node = params["as"] if params["as"] != node else next(n for n in cluster.nodes if n != node)
    rng = random.Random(params["seed"])

    stop = asyncio.Event()

    async def attack() -> None:
        for _ in range(10_000):  # bounded; heal stops it long before
            if stop.is_set():
                return
            if rng.random() < 0.2:
                kind = rng.choice(STRANGERS)
                await ctx.attacker.stranger(node, cluster.sc.peers[node].port, cluster.sc.clients[node].port, kind)
            else:
                await ctx.attacker.garbage(node, cluster.sc.peers[node].port, as_node)
            await asyncio.sleep(0.01)

    params["_task"] = (asyncio.ensure_future(attack()), stop)


async def _calm(ctx: Context, params: Params) -> None:
    """Stop the attacker after its current connection (each is bounded by a few seconds). Not by
    cancelling alone: `paxiom.client.connection.Connection.close` swallows a cancellation that arrives
    while it waits for its reader task."""
    found = params.pop("_task", None)
    if found is not None:
        task, stop = found
        stop.set()
        await asyncio.wait({task}, timeout=15.0)
        task.cancel()


# --- reconfiguration -------------------------------------------------------------------------------------------


def _plan_reconfigure(rng: random.Random, nodes: list[str]) -> Params:
    n = len(nodes)
    q2 = rng.randrange(n // 2 + 1, max(n // 2 + 2, n))  # phase 2 below n: one node down never stalls writes
    return {"phase2": q2, "text": f"quorums changed through the log to any {n - q2 + 1} / any {q2}, then back"}


async def _reconfigure(ctx: Context, params: Params) -> None:
    """Certify and propose a change of quorums over the same nodes (`paxiom cluster reconfigure`) while the
    workload runs; the heal changes them back to the file's."""
    cluster = ctx.cluster
    nodes = ", ".join(cluster.nodes)
    q2 = params["phase2"]
    quorums = f'phase1 = "{len(cluster.nodes) - q2 + 1} of ({nodes})"\nphase2 = "{q2} of ({nodes})"'
    changed = cluster.path.with_name(f"reconfigured-{q2}.toml")
    changed.write_text(cluster.path.read_text().replace(f'phase1 = "majority({nodes})"', quorums))
    await _switch(ctx, cluster.path, changed)


async def _reconfigure_back(ctx: Context, params: Params) -> None:
    await _switch(ctx, ctx.cluster.path.with_name(f"reconfigured-{params['phase2']}.toml"), ctx.cluster.path)


async def _switch(ctx: Context, old: Path, new: Path) -> None:
    why = await asyncio.to_thread(propose, old, new, timeout=5.0)
    ctx.count("reconfigurations-chosen" if not why else "reconfigurations-not-chosen")


KINDS: dict[str, FaultKind] = {
    k.name: k
    for k in (
        FaultKind("kill", "kill -9 a node (the leader half the time), restart it on its data directory",
                  _plan_target, _kill, _restart),
        FaultKind("power", "kill -9, then cut every log and snapshot file to its synced length plus a torn "
                  "fragment; sometimes every node at once", _plan_power, _power, _restart, minority=False),
        FaultKind("corrupt", "bit flip or zeroed block in a synced log record or snapshot of one stopped node; it "
                  "must refuse to start; a refusal is healed by restoring the copy taken at the stop", _plan_corrupt,
                  _corrupt, _repair, hold=(0.2, 0.8)),
        FaultKind("partition", "random halves, one node or the leader isolated, a bridge, or one-way",
                  _plan_partition_or_leader, _partition, _unpartition, minority=False),
        FaultKind("delay", "every peer link's bytes held 0-d ms (in order)", _plan_delay, _shape, _unshape),
        FaultKind("reset", "peer connections reset at random (the frames in them lost)", _plan_reset, _shape,
                  _unshape),
        FaultKind("pause", "SIGSTOP a node (the leader half the time) past an election timeout, then SIGCONT",
                  _plan_target, _pause, _resume, hold=(1.0, 2.5)),
        FaultKind("hostile", "strangers without a valid certificate, and garbage frames from a peer holding a "
                  "real node certificate", _plan_hostile, _hostile, _calm, hold=(1.0, 2.5)),
        FaultKind("reconfigure", "change the quorums through the log (certified, as paxiom cluster reconfigure "
                  "does) while serving, and back", _plan_reconfigure, _reconfigure, _reconfigure_back, hold=(1.0, 2.5),
                  variants=("multipaxos",),
                  why_only="the Fast Paxos core runs no configuration commands (a fast cluster does not reconfigure), "
                  "and after an operator's change a Cheap cluster leaves configuration 0: no failed main is retired "
                  "then, and spec/cheap.py, which judges its traces, has no such configuration (docs/cheap.md)"),
        FaultKind("retire", "kill -9 a main that does not lead for 1.5-3 s, so that the leader retires it through "
                  "the auxiliary (Cheap Paxos); then restart it", lambda rng, nodes: {}, _retire, _restart,
                  hold=(1.5, 3.0), variants=("cheap",),
                  why_only="only a Cheap Paxos cluster has auxiliaries to retire a main through"),
    )
}  # fmt: skip


def kinds_of(variant: str) -> list[str]:
    """The fault kinds that apply to a `variant` cluster."""
    return [name for name, kind in KINDS.items() if variant in kind.variants]


def parse_kinds(text: str, variant: str = "multipaxos") -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in KINDS]
    if unknown or not names:
        raise PaxiomError(f"unknown fault {', '.join(unknown) or '(none)'} (known: {', '.join(KINDS)})")
    for name in names:
        if variant not in KINDS[name].variants:
            raise PaxiomError(f"fault {name} does not apply to {variant}: {KINDS[name].why_only}")
    return list(dict.fromkeys(names))


def plan(kinds: Sequence[str], nodes: list[str], rng: random.Random, duration: float) -> list[Params]:
    """One fault at a time inside the fault window: start, hold, heal, rest 0.3-0.8 s; every kind asked for
    appears at least once when the window has room (the kinds are dealt in shuffled rounds)."""
    steps: list[Params] = []
    window = Window.of(duration)
    t, fault_id, deck = window.first, 0, list[str]()
    while kinds and window.last - t >= 0.5:
        if not deck:
            deck = rng.sample(list(kinds), len(kinds))
        kind = KINDS[deck.pop()]
        params = kind.plan(rng, nodes)
        end = min(t + rng.uniform(*kind.hold), window.last)
        steps.append({"at": round(t, 3), "op": "start", "id": fault_id, "fault": kind.name, "params": params})
        steps.append({"at": round(end, 3), "op": "heal", "id": fault_id, "fault": kind.name, "params": params})
        fault_id += 1
        t = end + rng.uniform(0.3, 0.8)
    return steps


def dump(steps: list[Params], path: Path, seed: int) -> None:
    clean = [{**s, "params": {k: v for k, v in s["params"].items() if not k.startswith("_")}} for s in steps]
    path.write_text(json.dumps({"format": SCHEDULE_FORMAT, "seed": seed, "steps": clean}, indent=1) + "\n")


def load(path: Path, nodes: list[str]) -> tuple[int, list[Params]]:
    """The seed and steps of a schedule.json; PaxiomError if it cannot be replayed on `nodes`."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("format") != SCHEDULE_FORMAT:
            raise ValueError(f"format {doc.get('format')!r}, expected {SCHEDULE_FORMAT}")
        steps = doc["steps"]
        for step in steps:
            if step["op"] not in ("start", "heal") or step["fault"] not in KINDS:
                raise ValueError(f"step {step!r}")
            float(step["at"]), int(step["id"])
            named = [step["params"][k] for k in ("node", "as") if k in step["params"]]
            named += [*step["params"].get("nodes", []), *(n for link in step["params"].get("links", []) for n in link)]
            if any(n not in nodes and n != "leader" for n in named):
                raise ValueError(f"it names nodes outside {' '.join(nodes)}")
        seed = int(doc["seed"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise PaxiomError(f"not a replayable schedule: {exc}", where=str(path)) from None
    by_id: dict[int, Params] = {}
    for step in steps:  # a start and its heal share one params object again, as when planned
        by_id.setdefault(step["id"], step["params"])
        step["params"] = by_id[step["id"]]
    return seed, sorted(steps, key=lambda s: (float(s["at"]), s["op"] == "start"))


__all__ = ["KINDS", "Context", "describe", "dump", "kinds_of", "load", "parse_kinds", "plan"]
