"""`paxiom quorum check`: every condition a cluster file needs, decided, and what follows from the verdict.

Which conditions (Howard, Malkhi, Spiegelman 2016 for Flexible Paxos; Lamport 2006 for Fast Paxos):
* phase-1 x phase-2 — needed by every Paxos variant (single-decree, Multi-, Flexible);
* phase-1 x phase-1 and phase-2 x phase-2 — only classic Paxos's "any two quorums" (not needed);
* phase-1 x fast x fast — needed when fast quorums are declared (Fast Flexible Paxos, and Lamport's
  Fast Paxos whose classic quorums are both families);
* phase-2 x fast x fast and fast x fast — Lamport's Fast Paxos, where every classic quorum takes part in
  recovery, states them; the generalised protocol `spec/fastpaxos.py` implements does not need them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from paxiom.cluster import latency, load, runs, tolerance
from paxiom.cluster.certify import Condition, Outcome, Verdicts, decide
from paxiom.cluster.config import Cluster
from paxiom.cluster.expr import Expr

T = TypeVar("T")


def conditions(cluster: Cluster) -> list[Condition]:
    found = [Condition("phase1 x phase2", ("phase1", "phase2"), needed=True)]
    if cluster.phase2_declared:
        found += [
            Condition("phase1 x phase1", ("phase1", "phase1"), needed=False),
            Condition("phase2 x phase2", ("phase2", "phase2"), needed=False),
        ]
    if cluster.fast is not None:
        found.append(Condition("phase1 x fast x fast", ("phase1", "fast", "fast"), needed=True))
        if cluster.phase2_declared:
            found.append(Condition("phase2 x fast x fast", ("phase2", "fast", "fast"), needed=False))
        found.append(Condition("fast x fast", ("fast", "fast"), needed=False))
    return found


def variants(cluster: Cluster) -> dict[str, list[str]]:
    """Protocol variant -> the conditions it needs (of those checked for this file)."""
    names = [c.name for c in conditions(cluster)]
    classic = [c for c in names if "fast" not in c]
    table = {
        "Flexible Paxos / Multi-Paxos (phase-1 and phase-2 quorums)": ["phase1 x phase2"],
        "Classic Paxos (any two quorums intersect)": classic,
    }
    if cluster.fast is not None:
        table["Fast Flexible Paxos (paxiom's fastpaxos spec)"] = ["phase1 x phase2", "phase1 x fast x fast"]
        table["Fast Paxos (Lamport 2006)"] = names
    return table


@dataclass
class Report(Verdicts):
    """Everything `paxiom quorum check` found about one file; `to_json()` is the --json document."""

    cluster: Cluster
    outcomes: list[Outcome]
    tolerance: dict[str, tolerance.Tolerance]
    tolerance_seconds: float
    zones: list[dict[str, object]]
    latency: list[dict[str, object]] | None
    loads: dict[str, load.Load]
    run: runs.Run | str | None
    """The replayed counterexample run, or why none was built, or None when the file is safe."""

    def variant_verdicts(self) -> dict[str, bool]:
        holds = {o.condition.name: o.holds for o in self.outcomes}
        return {v: all(holds[c] for c in needs) for v, needs in variants(self.cluster).items()}

    def to_json(self) -> dict[str, Any]:
        c = self.cluster
        run = self.run if isinstance(self.run, runs.Run) else None
        return {
            "file": c.path,
            "nodes": list(c.nodes),
            "quorums": {name: fam.describe() for name, fam in c.families().items()},
            "safe": self.safe,
            "variants": self.variant_verdicts(),
            "checks": [o.to_json(c.names) for o in self.outcomes],
            "fault_tolerance": {
                **{
                    name: {"min_crashes": t.min_crashes, "example": c.names(t.example), "method": t.method}
                    for name, t in self.tolerance.items()
                },
                "seconds": round(self.tolerance_seconds, 4),
                "availability_only": not self.safe,
                "note": ""
                if self.safe
                else "the file is unsafe: these say when the cluster stops, not that it is correct",
                "zones": self.zones,
            },
            "latency": self.latency,
            "load": {name: {"load": ld.value, "method": ld.method, "note": ld.note} for name, ld in self.loads.items()},
            "trace": run.steps() if run else None,
            "replay": None
            if self.run is None
            else ({"note": self.run} if isinstance(self.run, str) else self.run.summary()),
        }


def check(cluster: Cluster, *, leader: str | None = None, with_load: bool = True) -> Report:
    """Decide every condition; on a needed failure build and replay the run; analyse tolerance etc."""
    families = {name: fam.expr for name, fam in cluster.families().items()}
    outcomes = [decide(cond, families, cluster.n) for cond in conditions(cluster)]
    started = time.perf_counter()
    tol = _per_expression(families, lambda expr: tolerance.min_crashes(expr, cluster.n))
    tol_seconds = time.perf_counter() - started
    zones = tolerance.zones_that_can_be_lost(families, cluster.zones, cluster.n)
    lat = None
    if cluster.round_trips is not None:
        leaders = (
            [cluster.nodes.index(leader)] if leader is not None else latency.leaders_to_try(cluster.n, cluster.zones)
        )
        lat = latency.leader_latencies(families, cluster.round_trips, leaders)
    skipped = load.Load(None, "skipped", "not asked for (--no-load)")
    loads = _per_expression(families, load.quorum_load if with_load else lambda _: skipped)
    report = Report(cluster, outcomes, tol, tol_seconds, zones, lat, loads, None)
    failed = report.failed
    if failed is not None and failed.counterexample is not None:
        report.run = runs.build_run(cluster, failed.counterexample)
    return report


def _per_expression(families: dict[str, Expr], compute: Callable[[Expr], T]) -> dict[str, T]:
    """`compute` for each family, once per distinct expression (phase2 defaults to phase1's)."""
    done: dict[int, T] = {}
    result: dict[str, T] = {}
    for name, expr in families.items():
        if id(expr) not in done:
            done[id(expr)] = compute(expr)
        result[name] = done[id(expr)]
    return result
