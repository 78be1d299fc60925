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
from paxiom.impl.sim.runner import RunResult
from paxiom.impl.sim.simulator import ACTIONS, ClusterSettings, Step

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
    """Read a trace file; every defect is a PaxiomError naming the file and the problem."""
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise PaxiomError(f"not valid JSON: {exc.msg}", where=f"{path}:{exc.lineno}:{exc.colno}") from None
    if not isinstance(doc, dict) or doc.get("variant") != VARIANT:
        raise PaxiomError(f"not a simulation trace (variant must be {VARIANT!r})", where=str(path))
    try:
        settings = ClusterSettings.from_json(dict(doc["constants"]))
        steps = [dict(step) for step in doc["steps"]]
    except KeyError as missing:
        raise PaxiomError(f"trace file lacks {missing}", where=str(path)) from None
    except (TypeError, ValueError) as exc:
        raise PaxiomError(f"malformed trace file: {exc}", where=str(path)) from None
    for i, step in enumerate(steps):
        args = ACTIONS.get(str(step.get("action")))
        if args is None or set(step) - {"note"} != {"action", *args}:
            raise PaxiomError(f"step {i} is malformed: {step}", where=str(path))
    return settings, steps
