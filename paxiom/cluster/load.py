"""Quorum load (Naor and Wool, 1998): the busiest node's share under the best strategy for picking quorums.

load = min over probability distributions σ on quorums of max over nodes i of Σ_{Q ∋ i} σ(Q).
The first of four exact methods that applies answers:

* closed form, for a read-once tree whose gates each weigh their arguments alike (K of n, majorities of
  majorities even or uneven, rows of a grid): an exact fraction, bottom-up. Read-once, a gate's arguments
  share no node, so an argument used with probability x, playing its own best strategy, loads its nodes
  x·ℓ at most (ℓ its load: its constraints scale with its usage). A gate needing K of its arguments
  therefore has load min max_j x_j·ℓ_j over 0 <= x_j <= 1, Σ x_j = K: water-filling, x_j = min(1, t/ℓ_j)
  with the least t whose x sum to K (symmetric trees: Π K/m over the levels, Naor and Wool's composition);
* for other read-once formulas (weighted votes of unequal weights) the same composition, with a compact
  linear program for each distinct weighted gate: min max_j x_j·ℓ_j over its arguments' usages x_j (the
  probability that a quorum uses argument j), which are the take-flows of a path through the gate's
  knapsack table (a network flow, so integral: paths are the argument sets weighing >= K). Equal zones
  are one program; each is linear in the gate's arguments (times the distinct weights it needs), solved
  by HiGHS;
* read-once formulas whose weighted tables are too large for that, by column generation: the LP over a
  few quorums, whose dual prices y (a distribution over nodes) ask for the quorum Q minimising y(Q),
  found bottom-up exactly; min y(Q) is a lower bound and the LP's value an upper bound, and we stop
  when they meet;
* other formulas over the minimal quorums, generated from the expression (supersets never help a
  strategy). Beyond QUORUM_LIMIT of them or NODE_LIMIT nodes we decline and say so, rather than run for
  minutes as enumerating tools do.

The LPs are solved by HiGHS (scipy.optimize.linprog, method="highs"); the tests check the first three
against the last on random small systems.
"""

from __future__ import annotations

import itertools
import math
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from paxiom.cluster.expr import Expr, Gate, Leaf, read_once, support, walk
from paxiom.cluster.selection import TooLarge, cheapest_selection

QUORUM_LIMIT = 20_000
NODE_LIMIT = 64
"""Largest number of nodes a family may mention for the LP (the quorum cap declines most before this)."""
SOLVER = "HiGHS (scipy.optimize.linprog, method='highs')"
GENERATION_SECONDS = 10.0
"""Budget for column generation; past it we report the bounds reached instead of a value."""
GAP = 1e-7


@dataclass(frozen=True)
class Load:
    value: float | None
    """None when declined."""
    method: str
    note: str = ""


class _TooMany(Exception):
    pass


def quorum_load(expr: Expr) -> Load:
    """The load by the first exact method that applies (see the module's docstring), or why none did."""
    exact = closed_form_load(expr)
    if exact is not None:
        return Load(float(exact), f"closed form: a threshold tree of alike-weighted gates, load {exact}")
    try:
        from scipy.optimize import linprog
    except ImportError:
        return Load(None, "declined", "scipy is not installed (pip install scipy)")
    if read_once(expr):
        compact = compact_load(expr, linprog)
        if compact is not None:
            return compact
        try:
            return column_generation_load(expr, linprog)
        except TooLarge as exc:
            return Load(None, "declined", f"{exc}: the weights are too large for exact pricing")
    return enumerated_load(expr, linprog)


def closed_form_load(expr: Expr) -> Fraction | None:
    """The exact load of a read-once tree whose every gate weighs its arguments alike (once weights are
    capped at the threshold: a node that alone reaches it weighs just enough); None for other expressions."""
    return _tree_load(expr) if read_once(expr) else None


def _tree_load(expr: Expr) -> Fraction | None:
    if isinstance(expr, Leaf):
        return Fraction(1)
    need = alike_need(expr)
    if need is None:
        return None
    loads = [_tree_load(arg) for arg in expr.args]
    if any(ld is None for ld in loads):
        return None
    return water_level([ld for ld in loads if ld is not None], need)


def alike_need(gate: Gate) -> int | None:
    """How many arguments the gate needs when it weighs them alike (weights capped at its threshold)."""
    capped = {min(w, gate.threshold) for w in gate.weights}
    return -(-gate.threshold // capped.pop()) if len(capped) == 1 else None


def water_level(loads: Sequence[Fraction], need: int) -> Fraction:
    """The least t with Σ min(1, t/ℓ) >= need over `loads` (all positive, need <= their number).

    Over the distinct loads v_1 < ... < v_u, Σ min(1, t/ℓ) is linear between two of them: for t in
    (v_{i-1}, v_i] it is (the arguments of load <= v_{i-1}) + t·(Σ 1/ℓ over the others)."""
    counts = Counter(loads)
    values = sorted(counts)
    inverse = sum((Fraction(c) / v for v, c in counts.items()), Fraction(0))  # Σ 1/ℓ over loads >= v_i
    below = 0  # arguments of load < v_i, each used always
    for v in values:
        if below + v * inverse >= need:
            return (need - below) / inverse
        below += counts[v]
        inverse -= Fraction(counts[v]) / v
    raise AssertionError("need exceeds the number of arguments")


def compact_load(expr: Expr, linprog: Any) -> Load | None:
    """The load of a read-once expression composed gate by gate (see the module's docstring); None when a
    weighted gate's table would exceed FLOW_CELLS states, or the expression is not read-once."""
    if not read_once(expr):
        return None
    solved: dict[tuple[object, ...], float | None] = {}
    largest = ""
    by_lp = 0

    def load_of(node: Expr) -> float | None:
        nonlocal largest, by_lp
        if isinstance(node, Leaf):
            return 1.0
        loads = [load_of(arg) for arg in node.args]
        key = (node.threshold, node.weights, tuple(loads))
        if key not in solved:  # equal zones are solved once
            known = [ld for ld in loads if ld is not None]
            need = alike_need(node)
            if len(known) < len(loads):
                solved[key] = None
            elif need is not None:
                solved[key] = float(water_level([Fraction(ld) for ld in known], need))
            else:
                program = _UsageProgram()
                solved[key] = program.gate(known, node.weights, node.threshold, linprog)
                by_lp += 1
                largest = program.size()
        return solved[key]

    value = load_of(expr)
    if value is None:
        return None
    return Load(
        value,
        f"compact linear programs, one per distinct weighted gate over its arguments' loads ({by_lp:,} solved, "
        f"the last {largest}), solved by {SOLVER}",
    )


LOAD = 0
"""The LP variable holding the load: the objective, and every node's usage is at most it."""
FLOW_CELLS = 200_000
"""Most knapsack-table states the compact LP gives one weighted gate."""


class _UsageProgram:
    """min load over usage variables (all >= 0) and sparse rows `Σ c·x (<= | =) rhs`."""

    def __init__(self) -> None:
        self.variables = 1
        self.rows: dict[str, tuple[list[int], list[int], list[float], list[float]]] = {
            "<=": ([], [], [], []),
            "=": ([], [], [], []),
        }
        self.cells = 0

    def variable(self) -> int:
        self.variables += 1
        return self.variables - 1

    def row(self, terms: Sequence[tuple[int, float]], sense: str, rhs: float = 0.0) -> None:
        rows, cols, values, rhss = self.rows[sense]
        for col, value in terms:
            rows.append(len(rhss))
            cols.append(col)
            values.append(value)
        rhss.append(rhs)

    def gate(self, loads: Sequence[float], weights: Sequence[int], threshold: int, linprog: Any) -> float | None:
        """The load of a gate whose arguments have loads `loads`: an argument used with probability x
        loads its nodes x·ℓ at most (read-once: its own best strategy, scaled), so the least over
        mixtures x of argument sets weighing >= `threshold` of max x_j·ℓ_j. None past FLOW_CELLS."""
        used = self.variable()
        self.row([(used, 1.0)], "=", 1.0)
        args = [self.variable() for _ in loads]
        if not self.spread(used, args, weights, threshold):
            return None
        for arg, ld in zip(args, loads, strict=True):
            self.row([(arg, ld), (LOAD, -1.0)], "<=")
        return self.solve(linprog)

    def spread(self, used: int, args: Sequence[int], weights: Sequence[int], threshold: int) -> bool:
        """Rows making `args`' usages a mixture, scaled by the gate's usage `used`, of the argument sets
        weighing at least `threshold`. False when the gate's table would pass FLOW_CELLS."""
        capped = [min(w, threshold) for w in weights]
        g = math.gcd(*capped)
        need = -(-threshold // g)
        scaled = [w // g for w in capped]
        if all(w == 1 for w in scaled):  # the hull of the need-subsets: 0 <= x_j <= u, Σ x_j >= need·u
            for arg in args:
                self.row([(arg, 1.0), (used, -1.0)], "<=")
            self.row([(used, float(need))] + [(arg, -1.0) for arg in args], "<=")
            return True
        self.cells += len(args) * (need + 1)
        if self.cells > FLOW_CELLS:
            return False
        # heaviest first: the reachable weights stay few (multiples of the large weights) for longer
        order = sorted(range(len(args)), key=lambda j: -scaled[j])
        self._flow(used, [args[j] for j in order], [scaled[j] for j in order], need)
        return True

    def _flow(self, used: int, args: Sequence[int], weights: Sequence[int], need: int) -> None:
        """A flow of `used` through states (arguments decided, weight taken capped at need) from (0, 0)
        to (m, need): arguments are taken on the `take` arcs, and a full state takes nothing more."""
        suffix = list(itertools.accumulate(reversed(weights), initial=0))[::-1]
        inflow: dict[int, list[int]] = {0: []}
        for i, (arg, weight) in enumerate(zip(args, weights, strict=True)):
            outflow: dict[int, list[int]] = {}
            takes: list[tuple[int, float]] = []
            for taken, arcs_in in inflow.items():
                arcs_out: list[int] = []
                moves = [(taken, False)] if taken == need else [(taken, False), (min(need, taken + weight), True)]
                for to, take in moves:
                    if to + suffix[i + 1] < need:
                        continue  # the remaining arguments cannot reach the threshold from there
                    arc = self.variable()
                    arcs_out.append(arc)
                    outflow.setdefault(to, []).append(arc)
                    if take:
                        takes.append((arc, -1.0))
                source = [(used, -1.0)] if i == 0 else [(a, -1.0) for a in arcs_in]
                self.row([(a, 1.0) for a in arcs_out] + source, "=")
            self.row([(arg, 1.0), *takes], "=")
            inflow = outflow

    def size(self) -> str:
        constraints = sum(len(r[3]) for r in self.rows.values())
        return f"{self.variables:,} variables, {constraints:,} constraints"

    def solve(self, linprog: Any) -> float:
        from scipy.sparse import csr_matrix

        def matrix(sense: str) -> tuple[Any, list[float]] | tuple[None, None]:
            rows, cols, values, rhs = self.rows[sense]
            if not rhs:
                return None, None
            return csr_matrix((values, (rows, cols)), shape=(len(rhs), self.variables)), rhs

        a_ub, b_ub = matrix("<=")
        a_eq, b_eq = matrix("=")
        objective = [0.0] * self.variables
        objective[LOAD] = 1.0
        result = linprog(objective, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        assert result.status == 0, result.message  # feasible (use every argument) and bounded (load >= 0)
        return float(result.fun)


def enumerated_load(expr: Expr, linprog: Any) -> Load:
    """The LP over every minimal quorum, for any expression (declined past NODE_LIMIT or QUORUM_LIMIT)."""
    nodes_mentioned = support(expr).bit_count()
    widest = max((len(e.args) for e in walk(expr) if isinstance(e, Gate)), default=0)
    if widest > NODE_LIMIT:  # the minimal-subset search recurses once per argument
        return Load(None, "declined", f"a gate with {widest} arguments: too many for the linear program")
    if nodes_mentioned > NODE_LIMIT:
        return Load(None, "declined", f"{nodes_mentioned} nodes: too many for the linear program (limit {NODE_LIMIT})")
    try:
        quorums = sorted(_minimal_quorums(expr))
    except _TooMany:
        return Load(None, "declined", f"more than {QUORUM_LIMIT:,} minimal quorums: too many for the linear program")
    value, _, _ = _master(quorums, _nodes_of(expr), linprog)
    return Load(value, f"linear program over {len(quorums):,} minimal quorums, solved by {SOLVER}")


def _nodes_of(expr: Expr) -> list[int]:
    mask = support(expr)
    return [i for i in range(mask.bit_length()) if mask >> i & 1]


def _master(quorums: Sequence[int], nodes: Sequence[int], linprog: Any) -> tuple[float, list[float], list[float]]:
    """min L s.t. every node's share of the strategy σ over `quorums` is <= L, Σσ = 1.

    Returns the load, the dual prices of the node rows (a distribution over `nodes`) and each node's
    share under the optimal strategy.
    """
    from scipy.sparse import lil_matrix

    m = len(quorums)
    upper = lil_matrix((len(nodes), m + 1))
    for row, i in enumerate(nodes):
        for col, q in enumerate(quorums):
            if q >> i & 1:
                upper[row, col] = 1.0
        upper[row, m] = -1.0
    result = linprog(
        [0.0] * m + [1.0],
        A_ub=upper.tocsr(),
        b_ub=[0.0] * len(nodes),
        A_eq=[[1.0] * m + [0.0]],
        b_eq=[1.0],
        bounds=[(0, None)] * (m + 1),
        method="highs",
    )
    assert result.status == 0, result.message  # always feasible (σ on any quorum) and bounded (L >= 0)
    sigma = result.x[:m]
    shares = [sum(float(p) for p, q in zip(sigma, quorums, strict=True) if q >> i & 1) for i in nodes]
    return float(result.fun), [max(0.0, -float(d)) for d in result.ineqlin.marginals], shares


def _cheapest_quorum(expr: Expr, price: dict[int, float]) -> tuple[float, int]:
    """The quorum with the least total price, exactly, for a read-once expression."""
    if isinstance(expr, Leaf):
        return price.get(expr.index, 0.0), 1 << expr.index
    options = [(*_cheapest_quorum(arg, price), weight) for arg, weight in zip(expr.args, expr.weights, strict=True)]
    return cheapest_selection(options, expr.threshold)


def column_generation_load(expr: Expr, linprog: Any) -> Load:
    """The LP of a read-once expression by column generation, certified by a matching lower bound."""
    nodes = _nodes_of(expr)
    deadline = time.perf_counter() + GENERATION_SECONDS
    columns = _spread_quorums(expr, nodes)
    lower = 0.0
    while True:
        upper, duals, shares = _master(columns, nodes, linprog)
        # Any distribution y over nodes bounds the load below by min_Q y(Q). The LP's duals are one such
        # y, but often degenerate; the optimal strategy's node shares and the uniform distribution are
        # others, and on symmetric systems they close the gap at once.
        quorum = 0
        for guess in (duals, shares, [1.0] * len(nodes)):
            total = sum(guess) or 1.0
            cost, best = _cheapest_quorum(expr, {i: g / total for i, g in zip(nodes, guess, strict=True)})
            lower = max(lower, cost)
            quorum = quorum or best
        if upper - lower <= GAP or quorum in columns:
            method = f"column generation over {len(columns)} generated quorums, solved by {SOLVER}"
            return Load(upper, method)
        if time.perf_counter() > deadline:
            return Load(
                None, "declined", f"column generation ran out of time with the load between {lower:.4f} and {upper:.4f}"
            )
        columns.append(quorum)


def _spread_quorums(expr: Expr, nodes: Sequence[int]) -> list[int]:
    """A warm start: cheapest quorums under prices that double on every use, until each node is in one."""
    price = dict.fromkeys(nodes, 1.0)
    everyone = sum(1 << i for i in nodes)
    columns: list[int] = []
    covered = 0
    while covered != everyone:
        _, quorum = _cheapest_quorum(expr, price)
        if quorum in columns:
            break
        columns.append(quorum)
        covered |= quorum
        for i in nodes:
            if quorum >> i & 1:
                price[i] *= 2
    return columns


def _minimal_quorums(expr: Expr) -> set[int]:
    """Every minimal quorum (and, where nodes are shared between branches, possibly a few supersets)."""
    if isinstance(expr, Leaf):
        return {1 << expr.index}
    children = [_minimal_quorums(a) for a in expr.args]
    result: set[int] = set()
    for chosen in _weight_minimal_subsets(expr.weights, expr.threshold):
        for parts in itertools.product(*(children[i] for i in chosen)):
            mask = 0
            for part in parts:
                mask |= part
            result.add(mask)
            if len(result) > QUORUM_LIMIT:
                raise _TooMany
    return result


def _weight_minimal_subsets(weights: tuple[int, ...], threshold: int) -> Iterator[tuple[int, ...]]:
    """Index sets whose weights reach `threshold` and drop below it without any one member."""
    n = len(weights)
    suffix = [0] * (n + 1)
    for i in range(n - 1, -1, -1):
        suffix[i] = suffix[i + 1] + weights[i]
    count = 0

    def dfs(i: int, chosen: tuple[int, ...], total: int) -> Iterator[tuple[int, ...]]:
        nonlocal count
        if total >= threshold:
            if all(total - weights[j] < threshold for j in chosen):
                count += 1
                if count > QUORUM_LIMIT:
                    raise _TooMany
                yield chosen
            return
        if i == n or total + suffix[i] < threshold:
            return
        yield from dfs(i + 1, (*chosen, i), total + weights[i])
        yield from dfs(i + 1, chosen, total)

    yield from dfs(0, (), 0)
