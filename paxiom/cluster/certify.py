"""Deciding intersection conditions with Z3, symbolically: no quorum is ever enumerated.

Encoding: one 0/1 integer per node and quorum ("node i is in quorum j"), each threshold gate a linear sum
`Σ w·x >= K` (sub-gates enter as `If(g, 1, 0)`), and "these quorums share no node" as `Σ_j x_ij <= k-1` for
every node i. Unsat means the condition holds. The solver is `Tactic("smt").solver()`: on pseudo-Boolean
sums the default solver takes minutes where this takes a fraction of a second (measurements in
`/work/shared/reference/quorum-conditions.md`, reproduced by `bench/quorum_scale.py`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import z3

from paxiom.cluster.expr import Expr, Gate, Leaf

MINIMISE_SECONDS = 5.0
"""Budget for proving violating quorums smallest; past it the result is minimal but not proven minimum."""


def new_solver() -> z3.Solver:
    return z3.Tactic("smt").solver()


def zero_one_vector(solver: z3.Solver, prefix: str, n: int) -> list[z3.ArithRef]:
    """n integer variables constrained to 0/1."""
    xs = [z3.Int(f"{prefix}{i}") for i in range(n)]
    for x in xs:
        solver.add(x >= 0, x <= 1)
    return xs


def holds(expr: Expr, xs: Sequence[z3.ArithRef]) -> z3.BoolRef:
    """The Z3 formula: the set described by the 0/1 vector `xs` satisfies `expr`."""
    if isinstance(expr, Leaf):
        return xs[expr.index] == 1
    return _gate_sum(expr, xs) >= expr.threshold


def _gate_sum(gate: Gate, xs: Sequence[z3.ArithRef]) -> z3.ArithRef:
    terms: list[z3.ArithRef] = []
    for arg, weight in zip(gate.args, gate.weights, strict=True):
        term = xs[arg.index] if isinstance(arg, Leaf) else z3.If(holds(arg, xs), 1, 0)
        terms.append(term if weight == 1 else weight * term)
    return z3.Sum(terms)


def mask_of_model(model: z3.ModelRef, xs: Sequence[z3.ArithRef]) -> int:
    return sum(1 << i for i, x in enumerate(xs) if model.eval(x, model_completion=True).as_long() == 1)


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

    @property
    def holds(self) -> bool:
        return self.counterexample is None


def shrink(expr: Expr, mask: int, n: int) -> int:
    """Drop nodes while the set stays a quorum: an inclusion-minimal quorum inside `mask`."""
    for i in range(n):
        if mask >> i & 1 and expr.holds(mask & ~(1 << i)):
            mask &= ~(1 << i)
    return mask


def decide(condition: Condition, families: dict[str, Expr], n: int) -> Outcome:
    """Decide `condition`; on violation, return the violating quorums with the fewest nodes Z3 can find."""
    started = time.perf_counter()
    solver = new_solver()
    vectors = [zero_one_vector(solver, f"{fam}{j}_", n) for j, fam in enumerate(condition.families)]
    for fam, xs in zip(condition.families, vectors, strict=True):
        solver.add(holds(families[fam], xs))
    k = len(vectors)
    for i in range(n):
        solver.add(z3.Sum([xs[i] for xs in vectors]) <= k - 1)
    if solver.check() == z3.unsat:
        return Outcome(condition, None, time.perf_counter() - started)
    exprs = [families[fam] for fam in condition.families]
    masks = _shrunk(solver.model(), vectors, exprs, n)
    masks, minimum = _minimise(solver, vectors, exprs, masks, n)
    quorums = tuple(zip(condition.families, masks, strict=True))
    return Outcome(condition, Counterexample(quorums, minimum), time.perf_counter() - started)


def _shrunk(model: z3.ModelRef, vectors: list[list[z3.ArithRef]], exprs: list[Expr], n: int) -> list[int]:
    return [shrink(e, mask_of_model(model, xs), n) for e, xs in zip(exprs, vectors, strict=True)]


def _minimise(
    solver: z3.Solver, vectors: list[list[z3.ArithRef]], exprs: list[Expr], masks: list[int], n: int
) -> tuple[list[int], bool]:
    """Binary search on the total size, within MINIMISE_SECONDS; shrinking keeps each answer minimal."""
    deadline = time.perf_counter() + MINIMISE_SECONDS
    size = z3.Sum([x for xs in vectors for x in xs])
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
