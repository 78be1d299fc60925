"""A breadth-first explicit-state model checker for any `SpecModel`.

Breadth-first order means the first violation found is at the smallest depth, so the trace printed is a
shortest one. Every invariant is checked in every distinct state and every step invariant on every
non-stuttering transition (as in TLA+, `[][P]_vars` says nothing about steps that change nothing).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection, Hashable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Generic, TypeVar

from paxiom.spec.model import Action, SpecModel

S = TypeVar("S", bound=Hashable)

Progress = Callable[[int, int, int], None]
"""Called now and then with (distinct states, states generated, current depth)."""

CHECK_EVERY = 2048
"""Expanded states between progress calls and memory checks."""


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

    @property
    def states_per_second(self) -> float:
        return self.distinct_states / self.seconds if self.seconds > 0 else 0.0


def explore(
    model: SpecModel[S],
    *,
    only: Collection[str] | None = None,
    max_states: int | None = None,
    max_memory: int | None = None,
    progress: Progress | None = None,
) -> Result[S]:
    """Visit every reachable state (up to `max_states`), stopping at the first violation.

    `only` restricts checking to the named invariants (state or step); None checks them all. `max_memory`
    bounds the growth of resident memory (bytes) while exploring: past it the run stops, incomplete, rather
    than die of a MemoryError hours in.
    """
    invariants = [(n, f) for n, f in model.invariants.items() if only is None or n in only]
    steps = [(n, f) for n, f in model.step_invariants.items() if only is None or n in only]
    checked = [n for n, _ in invariants] + [f"{n} (step)" for n, _ in steps]
    started = time.perf_counter()
    parent: dict[S, tuple[S, Action] | None] = {}
    generated, depth = 0, 0
    memory_at_start = resident_bytes() if max_memory is not None else None

    def result(violation: Violation[S] | None, complete: bool, stopped: str | None = None) -> Result[S]:
        seconds = time.perf_counter() - started
        reached = len(violation.trace) - 1 if violation else depth
        return Result(model.variant, len(parent), generated, reached, seconds, complete, violation, checked, stopped)

    def out_of_memory() -> bool:
        now = resident_bytes() if memory_at_start is not None else None
        return max_memory is not None and now is not None and now - (memory_at_start or 0) > max_memory

    def trace_to(s: S) -> list[Step[S]]:
        steps_back: list[Step[S]] = []
        link = parent[s]
        while link is not None:
            steps_back.append(Step(link[1], s))
            s, link = link[0], parent[link[0]]
        steps_back.append(Step(None, s))
        return steps_back[::-1]

    def broken(s: S) -> tuple[str, str] | None:
        for name, check in invariants:
            reason = check(s)
            if reason is not None:
                return name, reason
        return None

    frontier: list[S] = []
    for s in model.init():
        generated += 1
        if s in parent:
            continue
        parent[s] = None
        frontier.append(s)
        if (bad := broken(s)) is not None:
            return result(Violation(bad[0], "state", bad[1], trace_to(s)), False)

    while frontier:
        next_frontier: list[S] = []
        for expanded, s in enumerate(frontier):
            for action, t in model.next(s):
                generated += 1
                if t == s:
                    continue
                for name, check in steps:
                    reason = check(s, t)
                    if reason is not None:
                        parent.setdefault(t, (s, action))
                        trace = [*trace_to(s), Step(action, t)]
                        return result(Violation(name, "step", reason, trace), False)
                if t in parent:
                    continue
                parent[t] = (s, action)
                next_frontier.append(t)
                if (bad := broken(t)) is not None:
                    return result(Violation(bad[0], "state", bad[1], trace_to(t)), False)
                if max_states is not None and len(parent) >= max_states:
                    return result(None, False, "max_states")
            if expanded % CHECK_EVERY == 0:
                if progress is not None:
                    progress(len(parent), generated, depth)
                if out_of_memory():
                    return result(None, False, "max_memory")
        frontier = next_frontier
        if frontier:
            depth += 1
    return result(None, True)


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
