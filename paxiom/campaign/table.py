"""A campaign: runs of consecutive seeds, their reports summed into the figures docs/campaign.md tabulates."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from paxiom.campaign.run import RunReport, RunSpec, run_one
from paxiom.errors import PaxiomError
from paxiom.fanout import Pool, ordered


def campaign(
    spec: RunSpec,
    runs: int,
    out: Path | None,
    progress: Callable[[RunReport], None] = lambda r: None,
    workers: int = 1,
) -> tuple[list[RunReport], dict[str, Any]]:
    """Run seeds spec.seed .. spec.seed + runs - 1, each in `out/seed-K` (a temporary directory if None),
    `workers` at a time (`paxiom.fanout`: reports in seed order). Parallel runs each get their own foreign
    CA, which the first run otherwise creates for all."""
    with tempfile.TemporaryDirectory(prefix="paxiom-campaign-") as scratch:
        root = out or Path(scratch)
        seeds = range(spec.seed, spec.seed + runs)
        jobs = [
            (replace(spec, seed=s), root / f"seed-{s}", root / ("foreign-tls" if workers == 1 else f"foreign-tls-{s}"))
            for s in seeds
        ]
        reports = []
        for report in ordered(_run_seed, jobs, Pool(workers)):
            progress(report)
            reports.append(report)
    return reports, totals(reports)


def _run_seed(job: tuple[RunSpec, Path, Path]) -> RunReport:
    return asyncio.run(bounded(*job))


async def bounded(spec: RunSpec, directory: Path, foreign: Path) -> RunReport:
    """One run, given up (its cluster stopped by the run's own finally) if it outlasts its duration by 3 min."""
    limit = spec.duration + 240
    try:
        return await asyncio.wait_for(run_one(spec, directory, foreign), limit)
    except TimeoutError:
        return RunReport(spec.seed, str(directory), False, [f"the run did not finish within {limit:g} s"])
    except PaxiomError as exc:  # the cluster did not come up: a failed run, and the campaign goes on
        return RunReport(spec.seed, str(directory), False, [f"the run could not start: {exc}"])


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def totals(reports: list[RunReport]) -> dict[str, Any]:
    figures = [r.figures for r in reports]

    def total(*path: str) -> int:
        out = 0
        for f in figures:
            value: Any = f
            for key in path:
                value = value.get(key, 0) if isinstance(value, dict) else 0
            out += int(value or 0)
        return out

    faults: dict[str, int] = {}
    for f in figures:
        for kind, n in f.get("faults", {}).items():
            faults[kind] = faults.get(kind, 0) + n
    elect = [d for f in figures for d in f.get("availability", {}).get("serve_after_leader_loss_s", [])]
    recovery = [r for f in figures if (r := f.get("availability", {}).get("recovery_after_heal_s")) is not None]
    inside = total("availability", "minority_fault_ops")
    rss = [kib for f in figures for kib in f.get("rss_kib", {}).values()]
    return {
        "runs": len(reports),
        "runs_failed": sum(1 for r in reports if not r.ok),
        "failed_seeds": [r.seed for r in reports if not r.ok],
        "ops_attempted": total("ops_attempted"),
        "ops_acknowledged": total("ops_ok"),
        "ops_indeterminate": total("ops_info"),
        "acknowledged_writes": total("acknowledged_writes"),
        "faults": dict(sorted(faults.items())),
        "power_bytes_lost": total("power_bytes_lost"),
        "lost_acknowledged_writes": total("lost_acknowledged_writes"),
        "linearizability_violations": sum(1 for f in figures if f.get("linearizable") == "violation"),
        "linearizability_unknown": sum(1 for f in figures if f.get("linearizable") == "unknown"),
        "refinement_objections": total("refinement_objections"),
        "configurations_chosen": total("configurations_chosen"),
        "slot_disagreements": sum(1 for r in reports for a in r.anomalies if a.startswith("slot ")),
        "corruption_injected": total("corruption", "injected"),
        "corruption_detected": total("corruption", "detected"),
        "corruption_repaired": total("corruption", "repaired"),
        "hostile_frames_sent": total("hostile", "frames_sent"),
        "hostile_connections_dropped": total("hostile", "dropped_by_node"),
        "hostile_connections": total("hostile", "authenticated_connections"),
        "strangers": total("hostile", "strangers"),
        "strangers_refused": total("hostile", "strangers_refused"),
        "node_crashes": total("node_crashes"),
        "serve_after_leader_loss_s": {"n": len(elect), "p50": _pct(elect, 0.5), "p99": _pct(elect, 0.99)},
        "minority_fault_success": round(total("availability", "minority_fault_ok") / inside, 4) if inside else None,
        "recovery_after_heal_s": {"p50": _pct(recovery, 0.5), "p99": _pct(recovery, 0.99)},
        "node_rss_kib_max": max(rss, default=None),
        "node_rss_kib_median": int(statistics.median(rss)) if rss else None,
    }
