"""One campaign run (cluster, proxies, clients, schedule, heal, recovery, judgement) and a campaign of runs.

A run is seeded: the seed picks the fault schedule, the clients' ops and every random choice of the
faults (power-loss fragments, corruption offsets). Wall-clock timing still differs between runs of one
seed — the processes are real — so `--replay` re-applies the recorded schedule (with the nodes its
"leader" targets resolved to), not an identical execution.
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paxiom.campaign import judge
from paxiom.campaign.cluster import CampaignCluster
from paxiom.campaign.faults import KINDS, Context, describe, dump, kinds_of, plan
from paxiom.campaign.hostile import Attacker
from paxiom.campaign.workload import Workload
from paxiom.client.cluster import client_tls
from paxiom.lin.history import pair, write_jsonl

RECOVERY = 20.0
"""Seconds after the last heal for the cluster to elect and answer the final reads."""


@dataclass
class RunSpec:
    seed: int
    nodes: int = 3
    duration: float = 10.0
    faults: tuple[str, ...] | None = None
    """None: every kind that applies to the variant."""
    mutant: str | None = None
    schedule: list[dict[str, Any]] | None = None
    """Replay these steps instead of planning from the seed."""
    workers: int = 5
    variant: str = "multipaxos"
    """The service variant the cluster runs (`paxiom.variants.SERVICE`), laid out as `cluster up` does."""


@dataclass
class RunReport:
    seed: int
    directory: str
    ok: bool
    anomalies: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    schedule: list[str] = field(default_factory=list)
    explanation: list[str] = field(default_factory=list)
    log_tails: str = ""

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


async def _apply_schedule(ctx: Context, steps: list[dict[str, Any]], t0: float, done: list[str]) -> dict[str, Any]:
    """Run the steps at their offsets; a step that takes time (a corrupt start waits for the refusal, a
    repair copies a directory) pushes every later step back by as much, so each fault keeps its planned
    hold and rest. Returns timing facts for the availability figures."""
    windows: list[tuple[float, float]] = []
    opened: dict[int, float] = {}
    last_heal = None
    lag = 0.0
    for step in steps:
        target = t0 + float(step["at"]) + lag
        await asyncio.sleep(max(0.0, target - time.monotonic()))
        kind = KINDS[step["fault"]]
        at = time.monotonic() - t0
        if step["op"] == "start":
            ctx.count(kind.name)
            await kind.start(ctx, step["params"])
            opened[step["id"]] = at
        else:
            await kind.heal(ctx, step["params"])
            last_heal = time.monotonic()
            if kind.minority and not step["params"].get("nodes") and step["id"] in opened:
                windows.append((opened[step["id"]], at))
        lag += max(0.0, time.monotonic() - target)
        ctx.cluster.check_exits()
        done.append(f"{at:6.2f}s {describe(step)}")
    return {"windows": windows, "last_heal": last_heal}


async def run_one(spec: RunSpec, directory: Path, foreign: Path) -> RunReport:
    rng = random.Random(spec.seed)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    cluster = CampaignCluster(directory, spec.nodes, random.Random(rng.randrange(1 << 32)), spec.mutant, spec.variant)
    kinds = spec.faults if spec.faults is not None else kinds_of(spec.variant)
    steps = spec.schedule if spec.schedule is not None else plan(kinds, cluster.nodes, rng, spec.duration)
    report = RunReport(spec.seed, str(directory), ok=False)
    attacker = Attacker(cluster.root / "cluster" / "tls", foreign, cluster.sc.cluster_id, random.Random(spec.seed))
    ctx = Context(cluster, attacker, rng)
    context = client_tls(cluster.sc, "admin")
    workload = Workload(dict(cluster.sc.clients), context, random.Random(rng.randrange(1 << 32)), workers=spec.workers,
                        fast=cluster.fast is not None)  # fmt: skip
    final: dict[str, int | None] | None = None
    timing: dict[str, Any] = {}
    t0 = time.monotonic()
    try:
        await cluster.start()
        workload.recorder.started = t0 = time.monotonic()
        load = asyncio.ensure_future(workload.run())
        timing = await _apply_schedule(ctx, steps, t0, report.schedule)
        await asyncio.sleep(max(1.0, t0 + spec.duration - time.monotonic()))  # at least a second of healed load
        workload.stopping.set()
        await asyncio.wait({load}, timeout=15.0)  # workers stop after their current op (each has a deadline)
        load.cancel()
        cluster.check_exits()
        final = await workload.final_reads(RECOVERY)
        report.figures["rss_kib"] = cluster.rss_kib()
    finally:
        dump(steps, directory / "schedule.json", spec.seed)
        await cluster.stop()
    events = workload.recorder.events
    write_jsonl(events, directory / "history.jsonl")
    report.anomalies += _judge(report, ctx, events, final, directory, timing, t0)
    report.ok = not report.anomalies
    if not report.ok:
        report.log_tails = cluster.tails(20)
    (directory / "report.json").write_text(json.dumps(report.to_json(), indent=1, default=str) + "\n")
    return report


def _judge(
    report: RunReport, ctx: Context, events: list[Any], final: dict[str, int | None] | None, directory: Path,
    timing: dict[str, Any], t0: float,
) -> list[str]:  # fmt: skip
    anomalies: list[str] = []
    ops = pair(events)
    figures = report.figures
    figures["ops_attempted"] = sum(1 for op in ops if op.process != "final")
    figures["ops_ok"] = sum(1 for op in ops if op.process != "final" and op.status == "ok")
    figures["ops_info"] = sum(1 for op in ops if op.status == "info")
    figures["acknowledged_writes"] = sum(1 for op in ops if op.status == "ok" and op.f in ("write", "cas"))
    figures["faults"] = {k: v for k, v in ctx.counts.items() if k in KINDS}
    figures["power_bytes_lost"] = ctx.counts.get("power-bytes-lost", 0)
    result, lines = judge.linearizability(events, directory)
    figures["linearizable"] = result.verdict
    if result.verdict == "violation":
        anomalies.append("the history is not linearizable")
        report.explanation = lines
    elif result.verdict == "unknown":
        figures["lin_unknown"] = True
    if final is None:
        anomalies.append(f"the cluster did not answer a read of every key within {RECOVERY:g} s of the last heal")
        lost: list[str] = []
    else:
        lost = judge.lost_writes(ops, final)
        anomalies += lost
    figures["lost_acknowledged_writes"] = len(lost)
    slots, switches, disagreements = judge.applied_agreement(ctx.cluster.trace_dir)
    figures["slots_applied"] = slots
    figures["configurations_chosen"] = switches
    anomalies += disagreements
    trace_figures, objection = judge.refinement(ctx.cluster.trace_dir)
    figures["trace"] = trace_figures
    figures["refinement_objections"] = int(objection is not None)
    if objection:
        anomalies.append(objection)
    refused_crashes = {c["node"] for c in ctx.corruption if c.get("refused")}
    crashes = [c for c in ctx.cluster.crashes if c.split()[0] not in refused_crashes]
    figures["node_crashes"] = len(crashes)
    anomalies += [f"node crash: {c}" for c in crashes]
    corruption = ctx.corruption
    figures["corruption"] = {
        "injected": ctx.counts.get("corruptions", 0),
        "detected": sum(1 for c in corruption if c["refused"] and c["logged"]),
        "repaired": ctx.counts.get("repaired", 0),
        "wal_must_refuse": sum(1 for c in corruption if c["must_refuse"]),
    }
    anomalies += [c["objection"] for c in corruption if "objection" in c]
    hostile = ctx.attacker.stats
    figures["hostile"] = {
        "frames_sent": hostile.frames_sent,
        "authenticated_connections": hostile.authenticated_connections,
        "dropped_by_node": hostile.dropped_by_node,
        "strangers": hostile.strangers,
        "strangers_refused": hostile.strangers_refused,
    }
    anomalies += [f"admitted: {who}" for who in hostile.admitted or []]
    figures["proxies"] = ctx.cluster.proxies.totals()
    figures["availability"] = judge.availability(
        ops, t0, timing.get("windows", []), ctx.leader_losses,
        (timing["last_heal"] - t0) if timing.get("last_heal") else None,
    )  # fmt: skip
    return anomalies
