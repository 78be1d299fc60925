"""Trace files: a run of a spec that anyone can replay, from the explorer, the quorum certifier or a test.

A trace file is JSON: `{"variant", "constants": {"nodes", "phase1", "phase2", "fast"?, ...}, "steps":
[{"action": "Phase1a", "b": 0}, ...]}`. Quorum families are stored as their minimal quorums, so a file
names exactly the sets of acceptors the run used and replays without the cluster file it came from.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from paxiom.errors import PaxiomError
from paxiom.inputs import JsonDocument, read_json
from paxiom.schema import validate_spec_trace
from paxiom.spec.model import Action
from paxiom.spec.quorums import Explicit, QuorumFamily, QuorumSystem
from paxiom.variants import AnyModel, build_model


def quorums_to_json(qs: QuorumSystem) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "nodes": list(qs.nodes),
        "phase1": [qs.phase1.names(q) for q in qs.phase1.minimal_quorums],
        "phase2": [qs.phase2.names(q) for q in qs.phase2.minimal_quorums],
    }
    if qs.fast is not None:
        doc["fast"] = [qs.fast.names(q) for q in qs.fast.minimal_quorums]
    return doc


def quorums_from_json(doc: dict[str, Any]) -> QuorumSystem:
    nodes = doc["nodes"]

    def family(key: str) -> QuorumFamily:
        return Explicit(nodes, doc[key])

    return QuorumSystem(family("phase1"), family("phase2"), family("fast") if "fast" in doc else None)


def dump(model: AnyModel, actions: list[Action], path: Path) -> None:
    doc = {
        "variant": model.variant,
        "constants": {**quorums_to_json(model.cfg.quorums), **model.constants()},
        "steps": [a.to_json() for a in actions],
    }
    path.write_text(json.dumps(doc, indent=2) + "\n")


def load(path: Path) -> tuple[AnyModel, list[Action]]:
    """Read a trace file; every defect is a PaxiomError naming the file, the field and where it is."""
    document = read_json(path)
    doc = validate_spec_trace(document)  # every field has its type and range: nothing below can trip on one
    constants = dict(doc["constants"])
    try:
        qs = quorums_from_json(constants)
        for key in ("nodes", "phase1", "phase2", "fast"):
            constants.pop(key, None)
        model = build_model(doc["variant"], qs, **constants)
    except ValueError as exc:  # consistent types, inconsistent constants (e.g. a fast ballot past max_ballot)
        raise PaxiomError(f"constants: {exc}", where=document.where(("constants",))) from None
    actions = [Action.from_json(step) for step in doc["steps"]]
    _check_enabled(model, actions, document)
    return model, actions


def _check_enabled(model: AnyModel, actions: list[Action], document: JsonDocument) -> None:
    """A step the spec cannot take is reported at its place in the file, before anything replays it."""
    state = model.init()[0]
    for i, action in enumerate(actions):
        where = document.where(("steps", i))
        try:
            after = model.apply(state, action)  # type: ignore[arg-type]
        except ValueError as exc:
            raise PaxiomError(f"steps[{i}]: {exc}", where=where) from None
        if after is None:
            raise PaxiomError(
                f"steps[{i}]: {action} is not enabled in the state the steps before it reach", where=where
            )
        state = after
