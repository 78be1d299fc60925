"""The Python explorer on a TLC model's constants: the twins must agree on what they reach and find."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paxiom.explorer import Result, explore
from paxiom.tlc.models import TlcModel
from paxiom.tlc.runner import TlcRun


@dataclass(frozen=True)
class TwinComparison:
    distinct_states: int
    depth: int
    violated: str | None
    seconds: float
    agrees: bool
    """Same verdict (invariant and kind); and when nothing is violated, the same states and depth.

    A search that stops at its first violation stops at a point that depends on the search order, so
    violating runs are compared on their verdict only (their runs are compared by replaying TLC's).
    """


def compare_with_explorer(model: TlcModel, run: TlcRun) -> TwinComparison:
    """Run the explorer on `model`'s constants, checking what TLC checked, and compare with `run`."""
    py: Result[Any] = explore(model.python_model(), only=model.explorer_only)
    tlc_verdict = (run.violation.invariant, run.violation.kind) if run.violation else None
    py_verdict = (py.violation.invariant, py.violation.kind) if py.violation else None
    agrees = tlc_verdict == py_verdict
    if run.violation is None:
        agrees = agrees and (run.distinct_states, run.depth) == (py.distinct_states, py.depth)
    violated = py.violation.invariant if py.violation else None
    return TwinComparison(py.distinct_states, py.depth, violated, py.seconds, agrees)
