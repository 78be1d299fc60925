"""Counterexamples to induction as small readable models.

A failed obligation leaves a satisfiable query. Before printing it we shrink it the way a teacher would
draw it: each sort gets the fewest elements that still break the obligation, and every tuple of the
pre-state and of the rigid relations (quorum membership, fast rounds) that can be false is made false.
Then every element is named (`n1`, `r1`, `v1`, quorums by their members),
rounds are listed in order with `none` (the spec's -1) first, and the pre-state, the action with its
arguments, the post-state changes and the broken conjunct are printed, together with the values of the
conjunct's variables at which it fails.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import z3

from paxiom.proofs.check import Obligation, conjunct_by_name
from paxiom.proofs.fol import Action, Params, Relation, State, TransitionSystem

PREFIX = {
    "node": "n",
    "round": "r",
    "value": "v",
    "quorum": "q",
    "quorum1": "p",
    "quorum2": "q",
    "fastquorum": "f",
    "slot": "s",
}
"""Element names per sort: phase-1 quorums are p1, p2, ...; phase-2 (or the only) quorums q1, ..."""

class ModelLost(Exception):
    """Z3 answered sat once but not again within the timeout, so there is no model left to print."""


def recheck(solver: z3.Solver) -> z3.ModelRef:
    """The solver's model after checking it again; ModelLost if Z3 no longer finds one in time."""
    if solver.check() != z3.sat:
        raise ModelLost(f"Z3 did not rebuild the counterexample in time ({solver.reason_unknown()})")
    return solver.model()


SHRINK_ORDER = ("value", "slot", "quorum", "quorum1", "quorum2", "fastquorum", "round", "node")
"""Sorts are shrunk in this order: fewer values and quorums first, as they make a model easiest to read."""

Tuple = tuple[str, ...]


@dataclass
class Structure:
    """The named elements of a model and its rigid symbols: quorums by their members, fast rounds, ..."""

    elements: dict[str, list[str]]
    quorums: dict[str, dict[str, list[str]]]
    rigid: dict[str, list[Tuple]]
    constants: dict[str, str] = field(default_factory=dict)
    """Named constants other than `none` (e.g. Cheap Paxos's initial configuration c0) and their element."""

    def to_json(self) -> dict[str, Any]:
        return {
            "elements": self.elements,
            "quorums": self.quorums,
            "rigid": {k: [list(t) for t in v] for k, v in self.rigid.items()},
            "constants": self.constants,
        }

    def lines(self) -> list[str]:
        out = ["  elements"]
        for sort, names in self.elements.items():
            sep = " < " if sort == "round" else " "
            out.append(f"    {sort:<11} {sep.join(names) if names else '(none)'}")
        for rel, qs in self.quorums.items():
            shown = "  ".join(f"{q} = {{{', '.join(ns)}}}" for q, ns in qs.items())
            out.append(f"    {rel:<11} {shown}")
        out.extend(f"    {rel:<11} {_tuples(tuples)}" for rel, tuples in self.rigid.items())
        out.extend(f"    {name:<11} = {element}" for name, element in self.constants.items())
        return out


@dataclass
class Counterexample:
    """A failed obligation's model, with every element named; JSON-ready and printable."""

    variant: str
    obligation: str
    kind: str
    broken: str
    broken_doc: str
    structure: Structure
    pre: dict[str, list[Tuple]]
    action: str | None = None
    post: dict[str, list[Tuple]] = field(default_factory=dict)
    added: dict[str, list[Tuple]] = field(default_factory=dict)
    removed: dict[str, list[Tuple]] = field(default_factory=dict)
    fails_at: dict[str, str] = field(default_factory=dict)
    verified: bool = False
    """Re-checked on the printed model itself: axioms and the remaining invariant hold before, the action
    is enabled, and the broken conjunct is false after (or the safety property in the state)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "obligation": self.obligation,
            "kind": self.kind,
            "broken": self.broken,
            **self.structure.to_json(),
            "pre": _relations_json(self.pre),
            "action": self.action,
            "post": _relations_json(self.post),
            "fails_at": self.fails_at,
            "verified": self.verified,
        }

    def lines(self) -> list[str]:
        """The human rendering, one line per fact."""
        out = [f"Counterexample to {self.obligation} ({self.variant})"]
        what = {
            "initiation": "the initial state breaks it",
            "consecution": "a state satisfying the invariant steps to one that breaks it",
            "safety": "a state satisfies the invariant but not the safety property",
        }[self.kind]
        out.append(f"  {what}")
        out.extend(self.structure.lines())
        out.append("  pre-state" + ("  (* derived)" if any(k.endswith("*") for k in self.pre) else ""))
        out.extend(f"    {rel:<14} {_tuples(ts)}" for rel, ts in self.pre.items())
        if self.action is not None:
            out.append(f"  action      {self.action}")
            out.append("  post-state (changes)")
            changes = [
                f"    {rel:<14} " + " ".join([*(f"+{_tuple(t)}" for t in self.added.get(rel, [])),
                                             *(f"-{_tuple(t)}" for t in self.removed.get(rel, []))])
                for rel in self.post
                if self.added.get(rel) or self.removed.get(rel)
            ]
            out.extend(changes or ["    (none)"])
        where = ", ".join(f"{k}={v}" for k, v in self.fails_at.items())
        out.append(f"  broken      {self.broken}" + (f"  at {where}" if where else ""))
        out.append(f"              ({self.broken_doc})")
        return out


def call(name: str, args: dict[str, str]) -> str:
    return f"{name}({', '.join(f'{k}={v}' for k, v in args.items())})"


def _relations_json(state: dict[str, list[Tuple]]) -> dict[str, list[list[str]]]:
    return {k: [list(t) for t in v] for k, v in state.items()}


def _tuple(t: Tuple) -> str:
    return t[0] if len(t) == 1 else f"({', '.join(t)})"


def _tuples(ts: Sequence[Tuple]) -> str:
    return " ".join(_tuple(t) for t in ts) if ts else "—"


# ---------------------------------------------------------------- shrinking


def _universe_size(model: z3.ModelRef, sort: z3.SortRef) -> int:
    universe = model.get_universe(sort)
    return 0 if universe is None else len(universe)


def shrink_sorts(
    ts: TransitionSystem, solver: z3.Solver, only: Collection[str] | None = None
) -> dict[str, list[z3.ExprRef]]:
    """Bound each sort (or those in `only`) to the fewest elements that keep the query satisfiable; returns,
    per sort, constants naming those elements. Leaves the bounds asserted (and the solver satisfiable)."""
    model = recheck(solver)
    elements: dict[str, list[z3.ExprRef]] = {}
    chosen = ts.sorts if only is None else only
    order = sorted(chosen, key=lambda s: SHRINK_ORDER.index(s) if s in SHRINK_ORDER else len(SHRINK_ORDER))
    for name in order:
        sort = ts.sorts[name]
        x = z3.Const(f"{name}!x", sort)
        for k in range(1, _universe_size(model, sort) + 1):
            elems = [z3.Const(f"{name}!e{j}", sort) for j in range(k)]
            solver.push()
            solver.add(z3.ForAll([x], z3.Or(*(x == e for e in elems))))
            if solver.check() == z3.sat:
                model, elements[name] = solver.model(), elems
                break
            solver.pop()
    return elements


def shrink(ts: TransitionSystem, solver: z3.Solver) -> z3.ModelRef:
    """Fewest elements per sort, then as few true tuples (pre-state relations, quorum memberships, fast
    rounds) as possible; returns the model. Only constraints checked satisfiable are kept, so the query
    stays a counterexample."""
    elements = shrink_sorts(ts, solver)
    model = recheck(solver)
    sort_names = {str(sort): name for name, sort in ts.sorts.items()}
    decls = [*ts.decls.values(), *(d for name, d in ts.rigid.items() if name != ts.order)]
    for decl in decls:
        domains = [elements.get(sort_names[str(decl.domain(i))], []) for i in range(decl.arity())]
        for args in itertools.product(*domains):
            solver.push()
            solver.add(z3.Not(decl(*args)))
            # A tuple already false stays false (the current model witnesses it), so later steps cannot
            # bring back what earlier ones removed.
            if not z3.is_true(model.eval(decl(*args), model_completion=True)):
                continue
            if solver.check() == z3.sat:
                model = solver.model()
            else:
                solver.pop()
    return model


# ---------------------------------------------------------------- naming and reading a model


class Reader:
    """Names the elements of a finite model and reads relations off it."""

    def __init__(self, ts: TransitionSystem, model: z3.ModelRef) -> None:
        self.ts, self.model = ts, model
        self.universe: dict[str, list[z3.ExprRef]] = {}
        self.names: dict[str, str] = {}
        for sort_name, sort in ts.sorts.items():
            elems = list(model.get_universe(sort) or [])
            if sort_name == "round":
                below = {str(r): sum(self.true(ts.rigid[ts.order](o, r)) for o in elems) for r in elems}
                elems.sort(key=lambda r: below[str(r)])
            self.universe[sort_name] = elems
            numbered = [e for e in elems if not (sort_name == "round" and self._is_none(e))]
            for i, e in enumerate(numbered, 1):
                self.names[str(e)] = f"{PREFIX.get(sort_name, sort_name[0])}{i}"
            if sort_name == "round":
                for e in elems:
                    if self._is_none(e):
                        self.names[str(e)] = "none"

    def _is_none(self, e: z3.ExprRef) -> bool:
        none = self.ts.constants.get("none")
        return none is not None and self.true(none == e)

    def true(self, formula: z3.ExprRef) -> bool:
        """Whether the formula holds in the model. Z3's evaluator leaves quantifiers unevaluated, so they
        are decided here over the (finite) universe, instance by instance, stopping at the first witness."""
        if z3.is_quantifier(formula):
            domains = [self.universe[self.sort_name(formula.var_sort(i))] for i in range(formula.num_vars())]
            # de Bruijn: variable i of the binder is index n - 1 - i in the body
            cases = (
                self.true(z3.substitute_vars(formula.body(), *reversed(v))) for v in itertools.product(*domains)
            )
            return all(cases) if formula.is_forall() else any(cases)
        if z3.is_and(formula):
            return all(self.true(c) for c in formula.children())
        if z3.is_or(formula):
            return any(self.true(c) for c in formula.children())
        if z3.is_not(formula):
            return not self.true(formula.arg(0))
        if z3.is_implies(formula):
            return not self.true(formula.arg(0)) or self.true(formula.arg(1))
        return bool(z3.is_true(self.model.eval(formula, model_completion=True)))

    def name(self, term: z3.ExprRef) -> str:
        return self.names.get(str(self.model.eval(term, model_completion=True)), str(term))

    def tuples(self, rel: z3.FuncDeclRef | Any, sorts: Iterable[str]) -> list[Tuple]:
        """Every tuple of elements on which `rel` (a declaration or a macro) holds."""
        domains = [self.universe[s] for s in sorts]
        return [
            tuple(self.name(e) for e in args) for args in itertools.product(*domains) if self.true(rel(*args))
        ]

    def structure(self) -> Structure:
        ts, names = self.ts, self.names
        st = Structure({s: [names[str(e)] for e in self.universe[s]] for s in ts.sorts if self.universe[s]}, {}, {})
        for name, decl in ts.rigid.items():
            if name == ts.order:
                continue
            sorts = self.relation_sorts(decl)
            if decl.arity() == 2 and sorts[0] == "node":
                st.quorums[name] = {
                    names[str(q)]: [names[str(n)] for n in self.universe["node"] if self.true(decl(n, q))]
                    for q in self.universe[sorts[1]]
                }
            else:
                st.rigid[name] = self.tuples(decl, sorts)
        st.constants = {name: self.name(c) for name, c in ts.constants.items() if name != "none"}
        return st

    def args(self, action: Action, params: Params) -> dict[str, str]:
        return {p: self.name(params[p]) for p, _ in action.params}

    def action(self, action: Action, params: Params) -> str:
        """The action with its arguments named, e.g. `Phase2a(b=r2, v=v1, q=q1, maxb=none)`."""
        return call(action.name, self.args(action, params))

    def relation_sorts(self, decl: z3.FuncDeclRef) -> list[str]:
        by_sort = {str(sort): name for name, sort in self.ts.sorts.items()}
        return [by_sort[str(decl.domain(i))] for i in range(decl.arity())]

    def state(self, state: State, relations: Iterable[Relation]) -> dict[str, list[Tuple]]:
        """The true tuples of each relation, then of each derived view (named with a trailing `*`)."""
        facts = {r.name: self.tuples(state[r.name], r.sorts) for r in relations}
        for view in self.ts.views:
            facts[f"{view.name}*"] = self.tuples(functools.partial(view.formula, state), view.sorts)
        return facts

    def fails_at(self, formula: z3.BoolRef) -> dict[str, str]:
        """The values of a universally quantified formula's outer variables at which it is false."""
        if not (z3.is_quantifier(formula) and formula.is_forall()):
            return {}
        n = formula.num_vars()
        domains = [self.universe[self.sort_name(formula.var_sort(i))] for i in range(n)]
        for values in itertools.product(*domains):
            body = z3.substitute_vars(formula.body(), *reversed(values))
            if not self.true(body):
                return {formula.var_name(i): self.name(v) for i, v in enumerate(values)}
        return {}

    def sort_name(self, sort: z3.SortRef) -> str:
        return next(name for name, s in self.ts.sorts.items() if s == sort)


def explain(ts: TransitionSystem, ob: Obligation) -> Counterexample:
    """Shrink a failed obligation's model and read it as a Counterexample."""
    if ob.solver is None:
        raise ValueError(f"{ob.name} did not fail, so it has no counterexample")
    r = Reader(ts, shrink(ts, ob.solver))
    conj = conjunct_by_name(ts, ob.conjunct)
    pre_state = ts.initial() if ob.kind == "initiation" else ts.state()
    cex = Counterexample(
        variant=ts.variant,
        obligation=ob.name,
        kind=ob.kind,
        broken=conj.name,
        broken_doc=conj.doc,
        structure=r.structure(),
        pre=r.state(pre_state, ts.relations),
    )
    broken_state = pre_state
    facts = [a.formula for a in ts.axioms]
    if ob.kind != "initiation":
        facts += [c.formula(pre_state) for c in ts.conjuncts]
    if ob.action is not None:
        guard, post = ob.action.apply(pre_state, ob.params)
        facts.append(guard)
        cex.action = r.action(ob.action, ob.params)
        changed = ob.action.step(pre_state, ob.params)[1]
        cex.post = {
            name: tuples
            for name, tuples in r.state(post, ts.relations).items()
            if name in changed or name.endswith("*")
        }
        for name, after in cex.post.items():
            before = set(cex.pre[name])
            cex.added[name] = [t for t in after if t not in before]
            cex.removed[name] = [t for t in cex.pre[name] if t not in set(after)]
        broken_state = post
    broken = conj.formula(broken_state)
    cex.fails_at = r.fails_at(broken)
    cex.verified = all(r.true(f) for f in facts) and not r.true(broken)
    return cex
