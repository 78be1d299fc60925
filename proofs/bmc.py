"""Bounded model checking of the same transition systems: real executions from the initial state.

A counterexample to induction may start in an unreachable state; a BMC run may not. States s0..sk are
copies of the state relations (s0 the empty initial state); step i picks one action with fresh arguments,
and each relation of s(i+1) equals that action's macro over s(i). Depths are tried in increasing order, so
the run printed is a shortest one that violates the safety property. The sorts stay unbounded, so the
run also picks the cluster: how many nodes, which quorums (under the axioms in force), which rounds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import z3

from paxiom.proofs.cti import ModelLost, Reader, Structure, call, recheck, shrink_sorts
from paxiom.proofs.fol import Action, State, TransitionSystem, forall

Tuple = tuple[str, ...]
Choice = tuple[z3.BoolRef, Action, dict[str, z3.ExprRef]]
"""One action a step may take: its selector, the action, and its arguments at that step."""


@dataclass
class Run:
    """A violating execution, every element named."""

    variant: str
    broken: str
    structure: Structure
    steps: list[dict[str, str]]
    """Each step as {"action": name, argument: element name, ...}."""
    final: dict[str, list[Tuple]]

    def to_json(self) -> dict[str, Any]:
        return {
            "broken": self.broken,
            **self.structure.to_json(),
            "steps": self.steps,
            "final": {k: [list(t) for t in v] for k, v in self.final.items()},
        }

    def lines(self) -> list[str]:
        out = [f"A real execution of {self.variant} that {self.broken}, in {len(self.steps)} steps"]
        out.extend(self.structure.lines())
        out.append("  steps")
        for i, step in enumerate(self.steps, 1):
            args = {k: v for k, v in step.items() if k != "action"}
            out.append(f"    {i:>2}. {call(step['action'], args)}")
        out.append("  final state  (* derived)")
        out.extend(f"    {rel:<14} {' '.join(_fmt(t) for t in ts) or '—'}" for rel, ts in self.final.items())
        return out


def _fmt(t: Tuple) -> str:
    return t[0] if len(t) == 1 else f"({', '.join(t)})"


@dataclass
class BmcResult:
    depth: int
    seconds: float
    status: str  # "violated" (or the goal reached), "safe-to-depth" or "unknown"
    run: Run | None


def _copy(ts: TransitionSystem, i: int) -> State:
    return {
        r.name: z3.Function(f"{r.name}@{i}", *(ts.sorts[s] for s in r.sorts), z3.BoolSort()) for r in ts.relations
    }


def bmc(
    ts: TransitionSystem,
    depth: int,
    timeout_s: float = 120.0,
    goal: tuple[str, Callable[[State], z3.BoolRef]] | None = None,
) -> BmcResult:
    """Search executions of up to `depth` steps for one whose last state breaks the safety property, or
    (given `goal`, a name and a state predicate) reaches a state satisfying the goal."""
    name, reached = goal or (f"breaks {ts.safety.name}", lambda s: z3.Not(ts.safety.formula(s)))
    start = time.perf_counter()
    solver = z3.Solver()
    solver.set("timeout", int(timeout_s * 1000))
    for ax in ts.axioms:
        solver.add(ax.formula)
    states: list[State] = [ts.initial()]
    choices: list[list[Choice]] = []
    for i in range(1, depth + 1):
        pre, post = states[-1], _copy(ts, i)
        step = []
        for action in ts.actions:
            params = ts.fresh_params(action, f"@{i}")
            chosen = z3.Bool(f"{action.name}@{i}")
            guard, after = action.apply(pre, params)
            frame = []
            for r in ts.relations:
                xs = [z3.Const(f"{r.name}.{j}", ts.sorts[s]) for j, s in enumerate(r.sorts)]
                frame.append(forall(xs, post[r.name](*xs) == after[r.name](*xs)))
            solver.add(z3.Implies(chosen, z3.And(guard, *frame)))
            step.append((chosen, action, params))
        solver.add(z3.Or(*(c for c, _, _ in step)))
        states.append(post)
        choices.append(step)
        solver.push()
        solver.add(reached(post))
        result = solver.check()
        if result == z3.sat:
            try:
                _shrink(ts, solver, choices)
                model = recheck(solver)
            except ModelLost:
                return BmcResult(i, time.perf_counter() - start, "unknown", None)
            run = _read(ts, model, choices, post, name)
            return BmcResult(i, time.perf_counter() - start, "violated", run)
        solver.pop()
        if result != z3.unsat:
            return BmcResult(i, time.perf_counter() - start, "unknown", None)
    return BmcResult(depth, time.perf_counter() - start, "safe-to-depth", None)


def _shrink(ts: TransitionSystem, solver: z3.Solver, choices: list[list[Choice]]) -> None:
    """Make the run's cluster small: first try to have no elements but the run's own arguments (and
    `none`), then give each sort that needs more (e.g. the quorums that choose) as few as possible."""
    model = solver.model()
    used: dict[str, list[z3.ExprRef]] = {name: [] for name in ts.sorts}
    for step in choices:
        taken, action, params = next(c for c in step if z3.is_true(model.eval(c[0], model_completion=True)))
        solver.add(taken)  # keep this run's actions, so its arguments stay the ones that matter
        for p, sort in action.params:
            used[sort].append(params[p])
    for constant in ts.constants.values():
        used[next(n for n, sort in ts.sorts.items() if sort == constant.sort())].append(constant)
    rest = set()
    for name, terms in used.items():
        x = z3.Const(f"{name}!x", ts.sorts[name])
        solver.push()
        solver.add(z3.ForAll([x], z3.Or(*(x == t for t in terms))) if terms else z3.BoolVal(False))
        if solver.check() != z3.sat:
            solver.pop()
            rest.add(name)
    shrink_sorts(ts, solver, rest)


def _read(
    ts: TransitionSystem,
    model: z3.ModelRef,
    choices: list[list[Choice]],
    final: State,
    broken: str,
) -> Run:
    r = Reader(ts, model)
    steps = []
    for step in choices:
        _, action, params = next(c for c in step if r.true(c[0]))
        steps.append({"action": action.name, **r.args(action, params)})
    return Run(ts.variant, broken, r.structure(), steps, r.state(final, ts.relations))
