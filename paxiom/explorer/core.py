"""What an exploration reports (steps, violations, results), and replaying a trace through a spec."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Generic, TypeVar

from paxiom.spec.model import Action, SpecModel

S = TypeVar("S")

Progress = Callable[[int, int, int], None]
"""Called now and then with (distinct states, states generated, current depth)."""


def resident_bytes() -> int | None:
    """This process's resident memory now (Linux /proc), or None where it cannot be read."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class Step(Generic[S]):
    """One state of a trace and the action that led to it (None for the initial state)."""

    action: Action | None
    state: S


@dataclass
class Violation(Generic[S]):
    invariant: str
    kind: str  # "state" or "step"
    reason: str
    trace: list[Step[S]]


@dataclass
class Result(Generic[S]):
    variant: str
    distinct_states: int
    generated: int
    depth: int
    seconds: float
    complete: bool
    violation: Violation[S] | None = None
    checked: list[str] = field(default_factory=list)
    stopped: str | None = None
    """Why exploration stopped early without a violation: "max_states" or "max_memory" (None otherwise)."""
    workers: int = 1
    symmetry: int | None = None
    """With symmetry reduction: the order of the permutation group (distinct_states then counts orbits)."""
    collision_probability: float | None = None
    """With fingerprints: the chance that two distinct states reached share one (so one went unexplored)."""

    @property
    def states_per_second(self) -> float:
        return self.distinct_states / self.seconds if self.seconds > 0 else 0.0


def replay(model: SpecModel[S], actions: list[Action]) -> tuple[list[Step[S]], list[Violation[S]]]:
    """Run `actions` from the initial state through the spec, checking every invariant at every step.

    Returns the trace and, for each invariant that breaks along it, its first violation (in trace order),
    so a run meant to show two values chosen also shows the unsafe vote that led there.
    Raises ValueError naming the first action that is not enabled: a trace the spec cannot take.
    """
    s = model.init()[0]
    trace: list[Step[S]] = [Step(None, s)]
    violations: dict[str, Violation[S]] = {}
    for number, action in enumerate(actions, start=1):
        t = model.apply(s, action)
        if t is None:
            raise ValueError(f"step {number}, {action}, is not enabled in the state reached before it")
        trace.append(Step(action, t))
        checks: list[tuple[str, str, Callable[[S], str | None]]]
        checks = [(n, "step", partial(f, s)) for n, f in model.step_invariants.items() if t != s]
        checks += [(n, "state", f) for n, f in model.invariants.items()]
        for name, kind, check in checks:
            if name not in violations and (reason := check(t)) is not None:
                violations[name] = Violation(name, kind, reason, list(trace))
        s = t
    return trace, list(violations.values())


def describe_change(before: dict[str, Any] | None, after: dict[str, Any]) -> dict[str, Any]:
    """The parts of a rendered state that a step changed (everything, for the initial state)."""
    if before is None:
        return after
    changed: dict[str, Any] = {}
    for key, value in after.items():
        old = before.get(key)
        if value == old:
            continue
        if isinstance(value, dict) and isinstance(old, dict):
            changed[key] = {k: v for k, v in value.items() if old.get(k) != v}
        elif isinstance(value, list) and isinstance(old, list):
            changed[key] = [x for x in value if x not in old]
        else:
            changed[key] = value
    return changed
