"""The proof obligations of an inductive invariant, discharged one by one with Z3.

For invariant Inv = C1 and ... and Ck under axioms A:
- initiation of Ci:        A and not Ci(init) is unsat;
- consecution of Ci by X:  A and Inv(pre) and guard_X and not Ci(post_X) is unsat, for every action X;
- safety:                  A and Inv and not agreement is unsat.
Splitting per conjunct (as mypyvy does) keeps each query small and names exactly what breaks. A
satisfiable query is a counterexample; the model is kept so `cti.py` can print it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import z3

from paxiom.errors import PaxiomError
from paxiom.proofs import DEFAULT_TIMEOUT_S
from paxiom.proofs.fol import Action, Conjunct, TransitionSystem

Status = Literal["proved", "failed", "unknown"]


@dataclass
class Obligation:
    """One query: its name, what it checks, and, once decided, its status, time and (if failed) solver."""

    name: str
    kind: Literal["initiation", "consecution", "safety"]
    conjunct: str
    action: Action | None = None
    params: dict[str, z3.ExprRef] = field(default_factory=dict)
    status: Status = "unknown"
    seconds: float = 0.0
    reason: str = ""
    solver: z3.Solver | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, object]:
        doc: dict[str, object] = {"name": self.name, "status": self.status, "seconds": round(self.seconds, 4)}
        if self.reason:
            doc["reason"] = self.reason
        return doc


def weakened(ts: TransitionSystem, names: Sequence[str]) -> TransitionSystem:
    """The same model with the named axioms swapped for their weakened versions."""
    axioms = []
    for ax in ts.axioms:
        if ax.name in names:
            if ax.weakened is None:
                raise PaxiomError(f"axiom {ax.name!r} of {ts.variant} has no weakened form")
            ax = replace(ax, formula=ax.weakened, doc=ax.weakened_doc)
        axioms.append(ax)
    return replace(ts, axioms=tuple(axioms))


def dropped(ts: TransitionSystem, names: Sequence[str]) -> TransitionSystem:
    """The same model with the named conjuncts removed from the invariant."""
    return replace(ts, conjuncts=tuple(c for c in ts.conjuncts if c.name not in names))


def _solver(ts: TransitionSystem, timeout_s: float) -> z3.Solver:
    s = z3.Solver()
    s.set("timeout", int(timeout_s * 1000))
    for ax in ts.axioms:
        s.add(ax.formula)
    return s


def _decide(ob: Obligation, solver: z3.Solver, goal: z3.BoolRef, timeout_s: float) -> None:
    """Check `goal` (the negated obligation) on top of the solver's context; keep a solver holding the
    whole failing query so its counterexample can be minimised and printed."""
    start = time.perf_counter()
    solver.push()
    solver.add(goal)
    result = solver.check()
    ob.seconds = time.perf_counter() - start
    if result == z3.unsat:
        ob.status = "proved"
    elif result == z3.sat:
        ob.status = "failed"
        kept = z3.Solver()
        kept.set("timeout", int(timeout_s * 1000))
        kept.add(solver.assertions())
        ob.solver = kept
    else:
        ob.status = "unknown"
        ob.reason = solver.reason_unknown()
    solver.pop()


def obligations(ts: TransitionSystem, timeout_s: float = DEFAULT_TIMEOUT_S) -> Iterator[Obligation]:
    """Discharge every obligation of `ts`, yielding each as soon as it is decided."""
    init = ts.initial()
    base = _solver(ts, timeout_s)
    for c in ts.conjuncts:
        ob = Obligation(f"initiation/{c.name}", "initiation", c.name)
        _decide(ob, base, z3.Not(c.formula(init)), timeout_s)
        yield ob
    pre = ts.state()
    invariant = z3.And(*(c.formula(pre) for c in ts.conjuncts))
    for action in ts.actions:
        params = ts.fresh_params(action)
        guard, post = action.apply(pre, params)
        s = _solver(ts, timeout_s)
        s.add(invariant, guard)
        for c in ts.conjuncts:
            ob = Obligation(f"consecution/{action.name}/{c.name}", "consecution", c.name, action, params)
            _decide(ob, s, z3.Not(c.formula(post)), timeout_s)
            yield ob
    s = _solver(ts, timeout_s)
    s.add(invariant)
    ob = Obligation(f"safety/{ts.safety.name}", "safety", ts.safety.name)
    _decide(ob, s, z3.Not(ts.safety.formula(pre)), timeout_s)
    yield ob


def conjunct_by_name(ts: TransitionSystem, name: str) -> Conjunct:
    return ts.safety if name == ts.safety.name else ts.conjunct(name)
