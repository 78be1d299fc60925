"""First-order transition systems over uninterpreted sorts: the shared vocabulary of every Paxos proof.

A model is a *signature* (uninterpreted sorts, and rigid symbols such as the round order and quorum
membership, constrained only by named axioms), a *state* (named relations), an initial state, *actions*
and an *invariant* made of named conjuncts. Nothing bounds the sorts, so a proof covers any number of
nodes, quorums, rounds and values.

Encoding choices that keep every check fast and decidable:

- A state is a mapping from relation name to a function that builds that relation's atom. An action
  returns its guard and the relations it changes as quantifier-free *macros over the pre-state*
  (e.g. ``vote'(N, R, V) = vote(N, R, V) or (N, R, V) = (a, b, v)``), so a post-state is an expression of
  the pre-state: no post-state symbols, no frame axioms, and each consecution query has exactly the
  quantifier structure of the invariant itself.
- The initial state is the empty one (every relation false), so initiation is ground.
- Models keep to EPR: the only quantifier alternations are forall-exists from quorums (and rounds,
  values) to nodes, never back, so Z3 decides each query by finite model building.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import z3

Rel = Callable[..., z3.BoolRef]
"""A relation of some state: applied to terms, it yields the atom."""

State = Mapping[str, Rel]
Params = Mapping[str, z3.ExprRef]
Step = Callable[[State, Params], tuple[z3.BoolRef, dict[str, Rel]]]
"""An action's meaning: given the pre-state and parameters, its guard and the relations it changes."""


@dataclass(frozen=True)
class Relation:
    """A state relation: its name, the sorts of its arguments, and what it stands for in the spec."""

    name: str
    sorts: tuple[str, ...]
    doc: str


@dataclass(frozen=True)
class Axiom:
    """An assumption about the rigid symbols. `weakened` is the deliberately too-weak version that
    `--weaken` swaps in to show why the real one is needed (None: not meant to be weakened)."""

    name: str
    doc: str
    formula: z3.BoolRef
    weakened: z3.BoolRef | None = None
    weakened_doc: str = ""


@dataclass(frozen=True)
class Conjunct:
    """A named piece of the inductive invariant (or the safety property), evaluated in a state."""

    name: str
    doc: str
    formula: Callable[[State], z3.BoolRef]


@dataclass(frozen=True)
class View:
    """A relation derived from the state (e.g. `chosen`), shown beside the state in counterexamples."""

    name: str
    sorts: tuple[str, ...]
    doc: str
    formula: Callable[..., z3.BoolRef]
    """Called as formula(state, *arguments)."""


@dataclass(frozen=True)
class Action:
    """A named transition with explicit parameters. `step(pre, params)` returns the guard and the
    relations the action changes, each as a macro over `pre`."""

    name: str
    doc: str
    params: tuple[tuple[str, str], ...]
    step: Step

    def apply(self, pre: State, params: Params) -> tuple[z3.BoolRef, State]:
        guard, changed = self.step(pre, params)
        return guard, {**pre, **changed}


@dataclass(frozen=True)
class TransitionSystem:
    """One variant's relational model: everything the obligations, CTIs and BMC need."""

    variant: str
    title: str
    sorts: Mapping[str, z3.SortRef]
    rigid: Mapping[str, z3.FuncDeclRef]
    constants: Mapping[str, z3.ExprRef]
    relations: tuple[Relation, ...]
    axioms: tuple[Axiom, ...]
    actions: tuple[Action, ...]
    conjuncts: tuple[Conjunct, ...]
    safety: Conjunct
    order: str = "le"
    """The rigid relation that totally orders the round sort (used to print rounds in order)."""
    views: tuple[View, ...] = ()
    decls: dict[str, z3.FuncDeclRef] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        decls = {
            r.name: z3.Function(r.name, *(self.sorts[s] for s in r.sorts), z3.BoolSort()) for r in self.relations
        }
        object.__setattr__(self, "decls", decls)

    def state(self) -> State:
        """The pre-state: each relation is its own uninterpreted symbol."""
        return {name: decl for name, decl in self.decls.items()}

    def initial(self) -> State:
        """The initial state: nothing sent, nothing voted — every relation empty."""
        return {r.name: _false for r in self.relations}

    def axiom(self, name: str) -> Axiom:
        return next(a for a in self.axioms if a.name == name)

    def conjunct(self, name: str) -> Conjunct:
        return next(c for c in self.conjuncts if c.name == name)

    def fresh_params(self, action: Action, suffix: str = "") -> dict[str, z3.ExprRef]:
        """Skolem constants for an action's parameters."""
        return {p: z3.Const(f"{action.name}.{p}{suffix}", self.sorts[s]) for p, s in action.params}


def _false(*_args: z3.ExprRef) -> z3.BoolRef:
    return z3.BoolVal(False)


def added(old: Rel, *point: z3.ExprRef) -> Rel:
    """`old` with one tuple inserted: the macro for `r(point) := true`."""

    def rel(*args: z3.ExprRef) -> z3.BoolRef:
        return z3.Or(old(*args), equal(args, point))

    return rel


def equal(xs: Sequence[z3.ExprRef], ys: Sequence[z3.ExprRef]) -> z3.BoolRef:
    """Pointwise equality of two tuples of terms."""
    return z3.And(*(x == y for x, y in zip(xs, ys, strict=True)))


def forall(variables: Sequence[z3.ExprRef], body: z3.BoolRef) -> z3.BoolRef:
    return z3.ForAll(list(variables), body) if variables else body


def exists(variables: Sequence[z3.ExprRef], body: z3.BoolRef) -> z3.BoolRef:
    return z3.Exists(list(variables), body) if variables else body


def total_order(le: z3.FuncDeclRef, sort: z3.SortRef, least: z3.ExprRef) -> z3.BoolRef:
    """`le` is a total order on `sort` with `least` at the bottom."""
    x, y, z = z3.Consts("X Y Z", sort)
    return z3.And(
        z3.ForAll([x], le(x, x)),
        z3.ForAll([x, y, z], z3.Implies(z3.And(le(x, y), le(y, z)), le(x, z))),
        z3.ForAll([x, y], z3.Implies(z3.And(le(x, y), le(y, x)), x == y)),
        z3.ForAll([x, y], z3.Or(le(x, y), le(y, x))),
        z3.ForAll([x], le(least, x)),
    )


def intersect(node: z3.SortRef, *memberships: z3.FuncDeclRef) -> z3.BoolRef:
    """Any choice of one quorum from each membership relation shares a node: the quorum axioms."""
    quorums = [z3.Const(f"Q{i + 1}", m.domain(1)) for i, m in enumerate(memberships)]
    n = z3.Const("N", node)
    return z3.ForAll(quorums, z3.Exists([n], z3.And(*(m(n, q) for m, q in zip(memberships, quorums, strict=True)))))
