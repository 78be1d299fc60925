"""Simulation trace files: a cluster's constants and an adversary's schedule, replayable exactly.

`{"variant": "multipaxos-sim", "constants": {cluster settings}, "steps": [{"action": "deliver", "msg":
3}, ...], "verdict": {...}}` — the same shape as the explorer's trace files, with simulator steps
instead of spec actions. `paxiom sim --replay FILE` re-runs it under the oracle.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from paxiom.errors import PaxiomError
from paxiom.impl.mutants import Mutation
from paxiom.impl.sim.runner import RunResult
from paxiom.impl.sim.simulator import ACTIONS, ClusterSettings, Step
from paxiom.inputs import read_json
from paxiom.schema import validate_sim_trace

VARIANT = "multipaxos-sim"


def verdict(result: RunResult) -> dict[str, Any]:
    objection = result.objection
    if objection is None:
        return {"holds": True, "liveness_rounds": result.liveness_rounds}
    return {
        "holds": False,
        "step": objection.step,
        "check": objection.check,
        "reason": objection.reason,
        "matched": [str(a) for a in objection.matched],
    }


def to_json(result: RunResult) -> dict[str, Any]:
    return {
        "variant": VARIANT,
        "constants": result.settings.to_json(),
        "steps": result.steps,
        "verdict": verdict(result),
    }


def dump(result: RunResult, path: Path) -> None:
    path.write_text(json.dumps(to_json(result), indent=1) + "\n")


def load(path: Path) -> tuple[ClusterSettings, list[Step]]:
    """Read a trace file; every defect is a PaxiomError naming the file, the field and its line (paxiom.schema)."""
    document = read_json(path)
    doc = validate_sim_trace(
        document,
        variant=VARIANT,
        settings=tuple(ClusterSettings.__dataclass_fields__),
        actions=ACTIONS,
        mutations=tuple(m.value for m in Mutation),
    )
    settings = ClusterSettings.from_json(dict(doc["constants"]))
    try:
        for replica in range(settings.replicas):
            settings.replica_config(replica).check()
    except PaxiomError as exc:  # each field is well-typed, but together they are no cluster that can run
        raise PaxiomError(f"constants: {exc}", where=document.where(("constants",))) from None
    return settings, [dict(step) for step in doc["steps"]]
