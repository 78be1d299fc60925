"""Deciding intersection conditions with Z3, symbolically: no quorum is ever enumerated.

Encoding: one 0/1 integer per node and quorum ("node i is in quorum j"), each threshold gate a linear sum
`Σ w·x >= K` (sub-gates enter as `ite(g, 1, 0)`), and "these quorums share no node" as `Σ_j x_ij <= k-1` for
every node i. Unsat means the condition holds. Two families need only one vector: they have disjoint
quorums iff some set is a quorum of the first while its complement holds a quorum of the second.
The solver is `Tactic("smt").solver()`: on pseudo-Boolean sums the default solver took 89 s on a
majority of 25 where this takes milliseconds (`bench/quorum_scale.py` times the large systems).
Z3 is imported where it is used: a file decided by the exact procedure (`disjoint`) never pays its import.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from paxiom.cluster import disjoint
from paxiom.cluster.expr import Expr, Leaf, support

if TYPE_CHECKING:
    import z3

MINIMISE_SECONDS = 5.0
"""Budget for proving violating quorums smallest; past it the result is minimal but not proven minimum."""
UNUSED = "0"
"""The term standing for a node no formula of the problem mentions."""
EARLIEST_NODES = 32
"""Up to this many nodes, a smallest counterexample is also made to use the file's earliest nodes."""
Z3 = "Z3"
EXACT = "exact procedure (dynamic program over the read-once tree)"


def new_solver() -> z3.Solver:
    import z3

    return z3.Tactic("smt").solver()


class Problem:
    """An SMT-LIB script built as text and parsed by Z3 in one call.

    Building a 1,000-node problem through the Python API costs more than solving it (about 0.2 s of
    object creation); Z3's own parser reads the same formulas in a few milliseconds.
    """

    def __init__(self) -> None:
        self.parts: list[str] = []

    def vector(self, prefix: str, n: int, used: int) -> list[str]:
        """n terms, a fresh 0/1 integer constant for each node in the bitmask `used` and the constant 0 for
        the others (no formula mentions them: a 100,000-node file whose quorums name a few nodes stays small)."""
        names = [f"{prefix}{i}" if used >> i & 1 else UNUSED for i in range(n)]
        self.parts += [f"(declare-const {x} Int)(assert (<= 0 {x} 1))" for x in names if x != UNUSED]
        return names

    def require(self, formula: str) -> None:
        self.parts.append(f"(assert {formula})")

    def solver(self) -> z3.Solver:
        solver = new_solver()
        solver.from_string("\n".join(self.parts))
        return solver


def holds(expr: Expr, xs: Sequence[str]) -> str:
    """SMT-LIB: the set described by the 0/1 terms `xs` satisfies `expr`."""
    if isinstance(expr, Leaf):
        return f"(= {xs[expr.index]} 1)"
    if not any(isinstance(arg, Leaf) for arg in expr.args) and expr.threshold in (1, expr.total_weight):
        # any/all of sub-expressions as Boolean structure: Z3 case-splits on it far better than on a sum
        # of ite terms (a 30x30 grid's row-and-column quorums: 0.44 s -> 0.16 s)
        connective = "or" if expr.threshold == 1 else "and"
        return f"({connective} {' '.join(holds(arg, xs) for arg in expr.args)})"
    terms: list[str] = []
    for arg, weight in zip(expr.args, expr.weights, strict=True):
        term = xs[arg.index] if isinstance(arg, Leaf) else f"(ite {holds(arg, xs)} 1 0)"
        terms.append(term if weight == 1 else f"(* {weight} {term})")
    return f"(>= (+ {' '.join(terms)}) {expr.threshold})"


def ints(names: Sequence[str]) -> list[z3.ArithRef]:
    """The declared constants among `names`."""
    import z3

    return [z3.Int(x) for x in names if x != UNUSED]


def mask_of_model(model: z3.ModelRef, names: Sequence[str]) -> int:
    import z3

    return sum(
        1 << i
        for i, x in enumerate(names)
        if x != UNUSED and model.eval(z3.Int(x), model_completion=True).as_long() == 1
    )


@dataclass(frozen=True)
class Condition:
    """An intersection condition: any quorums drawn from `families` (repeats allowed) share a node."""

    name: str
    families: tuple[str, ...]
    needed: bool
    """Whether the protocol the file declares needs it (its failure makes the file unsafe)."""


@dataclass(frozen=True)
class Counterexample:
    """Quorums, one per family of the condition, with no node common to all of them."""

    quorums: tuple[tuple[str, int], ...]
    """(family, bitmask), in the condition's order."""
    minimum: bool
    """True when Z3 proved no violating quorums have fewer nodes in total."""


@dataclass(frozen=True)
class Outcome:
    condition: Condition
    counterexample: Counterexample | None
    seconds: float
    method: str = Z3
    """Who decided it: Z3 (a proof of unsatisfiability), or EXACT on one read-once tree of two families."""

    @property
    def holds(self) -> bool:
        return self.counterexample is None

    def to_json(self, names: Callable[[int], list[str]], why: str | None = None) -> dict[str, Any]:
        """The check as a report row; `why` (a transition's reason for `needed`) stands right after `needed`."""
        cex = self.counterexample
        return {
            "condition": self.condition.name,
            "needed": self.condition.needed,
            **({} if why is None else {"why": why}),
            "holds": self.holds,
            "method": self.method,
            "seconds": round(self.seconds, 4),
            "counterexample": None
            if cex is None
            else {
                "quorums": [{"family": fam, "nodes": names(mask)} for fam, mask in cex.quorums],
                "smallest": cex.minimum,
            },
        }


class Verdicts:
    """The verdicts a report draws from its decided conditions (shared by the file and transition reports)."""

    outcomes: list[Outcome]

    @property
    def safe(self) -> bool:
        """Every condition the protocol needs holds (conditions decided only for the report do not count)."""
        return all(o.holds for o in self.outcomes if o.condition.needed)

    @property
    def failed(self) -> Outcome | None:
        """The needed condition that fails first, the one a counterexample run is built from."""
        return next((o for o in self.outcomes if o.condition.needed and not o.holds), None)


def shrink(expr: Expr, mask: int, n: int) -> int:
    """Drop nodes while the set stays a quorum: an inclusion-minimal quorum inside `mask` (nodes the
    expression does not mention go first, at once)."""
    mask &= support(expr)
    for i in range(n):
        if mask >> i & 1 and expr.holds(mask & ~(1 << i)):
            mask &= ~(1 << i)
    return mask


def decide(condition: Condition, families: dict[str, Expr], n: int) -> Outcome:
    """Decide `condition`: exactly on one read-once tree of two families (`disjoint`), else by Z3."""
    started = time.perf_counter()
    exprs = [families[fam] for fam in condition.families]
    if len(exprs) == 2:
        try:
            found = disjoint.smallest_disjoint(exprs[0], exprs[1])
        except disjoint.NotApplicable:
            pass
        else:
            if found is None:
                return Outcome(condition, None, time.perf_counter() - started, EXACT)
            masks = list(found)
            if n <= EARLIEST_NODES:  # the same tie-break among smallest violations as the Z3 path
                solver, vectors = _disjoint(exprs, n)
                masks = _earliest(solver, vectors, exprs, masks, n)
            cex = Counterexample(tuple(zip(condition.families, masks, strict=True)), True)
            return Outcome(condition, cex, time.perf_counter() - started, EXACT)
    return decide_z3(condition, families, n, started)


def decide_z3(condition: Condition, families: dict[str, Expr], n: int, started: float | None = None) -> Outcome:
    """Decide `condition` with Z3; on violation, the violating quorums with the fewest nodes Z3 can find."""
    import z3

    started = time.perf_counter() if started is None else started
    exprs = [families[fam] for fam in condition.families]
    everyone = (1 << n) - 1
    if len(exprs) == 2:
        # Two monotone families have disjoint quorums iff some set is an A-quorum while its complement
        # holds a B-quorum: one vector instead of two and no per-node constraints (10x faster at n=1,000).
        problem = Problem()
        xs = problem.vector("x", n, support(exprs[0]) | support(exprs[1]))
        problem.require(holds(exprs[0], xs))
        problem.require(holds(exprs[1], [f"(- 1 {x})" for x in xs]))
        solver = problem.solver()
        if solver.check() == z3.unsat:
            return Outcome(condition, None, time.perf_counter() - started)
        mask = mask_of_model(solver.model(), xs)
        masks = [shrink(exprs[0], mask, n), shrink(exprs[1], everyone & ~mask, n)]
        solver, vectors = _disjoint(exprs, n)
        solver.check()  # sat: `masks` is a witness; minimisation below needs the model's context
    else:
        solver, vectors = _disjoint(exprs, n)
        if solver.check() == z3.unsat:
            return Outcome(condition, None, time.perf_counter() - started)
        masks = _shrunk(solver.model(), vectors, exprs, n)
    masks, minimum = _minimise(solver, vectors, exprs, masks, n)
    if minimum and n <= EARLIEST_NODES:
        masks = _earliest(solver, vectors, exprs, masks, n)
    quorums = tuple(zip(condition.families, masks, strict=True))
    return Outcome(condition, Counterexample(quorums, minimum), time.perf_counter() - started)


def _disjoint(exprs: list[Expr], n: int) -> tuple[z3.Solver, list[list[str]]]:
    """One 0/1 vector per expression, each a quorum of it, with no node in all of them."""
    problem = Problem()
    used = 0
    for expr in exprs:
        used |= support(expr)
    vectors = [problem.vector(f"q{j}_", n, used) for j in range(len(exprs))]
    for expr, xs in zip(exprs, vectors, strict=True):
        problem.require(holds(expr, xs))
    for i in range(n):
        if used >> i & 1:
            problem.require(f"(<= (+ {' '.join(xs[i] for xs in vectors)}) {len(vectors) - 1})")
    return problem.solver(), vectors


def _shrunk(model: z3.ModelRef, vectors: list[list[str]], exprs: list[Expr], n: int) -> list[int]:
    return [shrink(e, mask_of_model(model, xs), n) for e, xs in zip(exprs, vectors, strict=True)]


def _minimise(
    solver: z3.Solver, vectors: list[list[str]], exprs: list[Expr], masks: list[int], n: int
) -> tuple[list[int], bool]:
    """Binary search on the total size, within MINIMISE_SECONDS; shrinking keeps each answer minimal."""
    import z3

    deadline = time.perf_counter() + MINIMISE_SECONDS
    size = z3.Sum([x for xs in vectors for x in ints(xs)])
    low, best = len(vectors), sum(m.bit_count() for m in masks)
    first_probe = True
    while low < best:
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            return masks, False
        # probe just below the answer first: shrunk quorums are usually already the smallest
        mid = best - 1 if first_probe else (low + best) // 2
        first_probe = False
        solver.push()
        solver.set("timeout", max(1, int(remaining * 1000)))
        solver.add(size <= mid)
        verdict = solver.check()
        if verdict == z3.sat:
            masks = _shrunk(solver.model(), vectors, exprs, n)
            best = sum(m.bit_count() for m in masks)
        elif verdict == z3.unsat:
            low = mid + 1
        solver.pop()
        if verdict == z3.unknown:
            return masks, False
    return masks, True


def _earliest(solver: z3.Solver, vectors: list[list[str]], exprs: list[Expr], masks: list[int], n: int) -> list[int]:
    """Among violations of the same total size, the one using the earliest nodes in file order (quorum by
    quorum), so that symmetric files read `{r1..r6}` / `{r7..r10}`: one solver call per node and quorum."""
    import z3

    everything = [x for xs in vectors for x in ints(xs)]
    solver.push()
    solver.add(z3.Sum(everything) == sum(m.bit_count() for m in masks))
    for x in everything:
        if solver.check(x == 1) == z3.sat:
            solver.add(x == 1)
        else:
            solver.add(x == 0)
    verdict = solver.check()
    assert verdict == z3.sat  # every step kept a satisfiable choice
    earliest = _shrunk(solver.model(), vectors, exprs, n)
    solver.pop()
    return earliest
