"""A bounded-model-checking run as a trace file of the executable spec, so `paxiom explore --replay` can
run it through `spec/` and confirm that it really decides two values.

The run's model fixes the cluster: its nodes, its quorums (each quorum element becomes an explicit quorum
of its members), its values and its rounds (`none` is the spec's -1, the other rounds 0, 1, ... in
order). Steps keep their names; the witness arguments of Phase2a (`q`, `maxb`), which the spec computes
itself, are dropped.
"""

from __future__ import annotations

from typing import Any

from paxiom.errors import PaxiomError
from paxiom.proofs.bmc import Run

SPEC_VARIANT = {
    "paxos": "paxos",
    "flexible": "paxos",
    "multipaxos": "multipaxos",
    "fastpaxos": "fastpaxos",
    "fast-flexible": "fastpaxos",
}
PHASE1 = ("member", "member1")
PHASE2 = ("member", "member2")
WITNESSES = ("q", "maxb")


def trace_document(run: Run) -> dict[str, Any]:
    """The trace-file JSON (see `paxiom.trace`) of a violating run."""
    if run.variant not in SPEC_VARIANT:
        raise PaxiomError(f"{run.variant} has no executable spec to replay a run in")
    elements, quorums = run.structure.elements, run.structure.quorums
    rounds = [r for r in elements["round"] if r != "none"]
    index = {r: i for i, r in enumerate(rounds)} | {"none": -1}
    slots = {s: i for i, s in enumerate(elements.get("slot", []))}

    def family(names: tuple[str, ...]) -> list[list[str]]:
        membership = next(quorums[n] for n in names if n in quorums)
        return [members for members in membership.values() if members]

    constants: dict[str, Any] = {
        "nodes": elements["node"],
        "phase1": family(PHASE1),
        "phase2": family(PHASE2),
        "values": elements["value"],
        "max_ballot": max(len(rounds) - 1, 0),
    }
    if "memberf" in quorums:
        constants["fast"] = family(("memberf",))
        constants["fast_ballots"] = sorted(index[r] for (r,) in run.structure.rigid.get("fast", []) if r != "none")
    if slots:
        constants["slots"] = len(slots)
    steps = []
    for step in run.steps:
        doc: dict[str, Any] = {"action": step["action"]}
        for key, value in step.items():
            if key == "b":
                doc[key] = index[value]
            elif key == "slot":
                doc[key] = slots[value]
            elif key not in ("action", *WITNESSES):
                doc[key] = value
        steps.append(doc)
    return {"variant": SPEC_VARIANT[run.variant], "constants": constants, "steps": steps}
