"""Breadth-first search in chunks of the frontier: the one loop behind serial and parallel exploration.

A level's frontier is cut into chunks expanded in order. Expanding a chunk (`expand`) reads the visited
set as it stood when the chunk began and reports, in generation order, each successor it did not find
there, with its parent and how many successors came before it; merging (`Search.merge`) adds those to
the visited set in that order, and progress and memory are looked at between chunks. `parallel.py` runs
the same breadth-first order on several processes.

A state kept for expansion has its message set rebuilt from its own iteration order (`settle`): that is
what a copy sent to another process becomes, so a state yields its successors in one order whichever
process holds it, and parallel runs pick the serial run's parents.

What is stored per visited state is its key -- the state, its 64-bit fingerprint, or either of its orbit's
representative -- and its parent's key. A trace is rebuilt from the chain of keys by re-running the spec
from the initial state (`lift`), which gives real states and the actions between them in every mode.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from paxiom.explorer.core import Step, Violation, resident_bytes
from paxiom.explorer.fingerprint import Fingerprints
from paxiom.explorer.reads import Invariants, Steps
from paxiom.explorer.symmetry import Symmetry
from paxiom.spec.model import Action, SpecModel

CHUNK = 2048
"""Frontier states per chunk: progress and memory are checked between chunks."""

Tick = Callable[[int, int, int, int | None], str | None]
"""Called between chunks (or levels) with (distinct, generated, depth, resident memory grown by, in bytes,
or None where unknown); a reason to stop ("max_memory") or None to go on."""


def settle(t: Any) -> Any:
    """`t` (a tuple) with each set in it rebuilt from its own iteration order, as a copy received from
    another process is built (`parallel.Inbox`): equal, and iterating alike however its table grew."""
    return tuple.__new__(type(t), [frozenset(iter(x)) if type(x) is frozenset else x for x in t])


@dataclass
class Outcome:
    """How a search ended: the counts where it stopped and why."""

    distinct: int
    generated: int
    depth: int
    violation: Violation[Any] | None = None
    stopped: str | None = None


class Keys:
    """What the visited set holds for a state: the state itself, its fingerprint, or its orbit's."""

    def __init__(self, model: SpecModel[Any], *, symmetry: bool, fingerprint: bool) -> None:
        self.symmetry = Symmetry(model) if symmetry else None
        self.fingerprints = Fingerprints() if fingerprint else None

    def normal(self, t: Any) -> tuple[Any, Hashable]:
        """The state to expand in place of `t` (its orbit's representative, with symmetry) and its key."""
        if self.symmetry is not None:
            t = self.symmetry.representative(t)
        return t, t if self.fingerprints is None else self.fingerprints(t)

    def key(self, t: Any) -> Hashable:
        return self.normal(t)[1]


@dataclass
class Stop:
    """The first violation in a chunk, where serial BFS would stop."""

    invariant: str
    kind: str
    reason: str
    parent: int
    """The frontier index of the state expanded."""
    action: Action
    key: Hashable
    generated: int
    """Successors generated in the chunk up to and including this one."""


@dataclass
class Chunk:
    """What expanding one chunk found: candidate new states (state, key, parent index, generated so far)."""

    found: list[tuple[Any, Hashable, int, int]] = field(default_factory=list)
    generated: int = 0
    stop: Stop | None = None


@dataclass
class Expander:
    """Everything a chunk's expansion needs, fixed for a whole run (a parallel worker inherits it)."""

    model: SpecModel[Any]
    keys: Keys
    invariants: Invariants
    steps: Steps

    def expand(self, frontier: list[Any], start: int, stop: int, visited: dict[Hashable, Any]) -> Chunk:
        chunk = Chunk()
        seen: set[Hashable] = set()
        normal, broken, step_broken, found = self.keys.normal, self.invariants.broken, self.steps.broken, chunk.found
        plain = self.keys.symmetry is None and self.keys.fingerprints is None  # a state is its own key
        generated = 0
        for index in range(start, stop):
            s = frontier[index]
            for action, t in self.model.next(s):
                generated += 1
                if t == s:
                    continue
                if (bad := step_broken(s, t)) is not None:
                    chunk.stop = Stop(bad[0], "step", bad[1], index, action, self.keys.key(t), generated)
                    chunk.generated = generated
                    return chunk
                if plain:
                    key = t
                else:
                    t, key = normal(t)
                if key in visited or key in seen:
                    continue
                seen.add(key)
                t = settle(t)
                found.append((t, key, index, generated))
                if (bad := broken(t)) is not None:
                    chunk.stop = Stop(bad[0], "state", bad[1], index, action, key, generated)
                    chunk.generated = generated
                    return chunk
        chunk.generated = generated
        return chunk


class Search:
    """The visited set (key -> parent key) and the counts of one run, merged chunk by chunk."""

    def __init__(self, expander: Expander, max_states: int | None) -> None:
        self.expander = expander
        self.visited: dict[Hashable, Any] = {}
        self.generated = 0
        self.max_states = max_states
        self.frontier: list[Any] = []
        self.keys: list[Hashable] = []
        self.next_frontier: list[Any] = []
        self.next_keys: list[Hashable] = []

    def start(self) -> tuple[str, str, Any] | None:
        """Visit the initial states; the first broken invariant (name, reason, key) if any."""
        for s in self.expander.model.init():
            self.generated += 1
            s, key = self.expander.keys.normal(s)
            if key in self.visited:
                continue
            self.visited[key] = None
            self.frontier.append(s)
            self.keys.append(key)
            if (bad := self.expander.invariants.broken(s)) is not None:
                return bad[0], bad[1], key
        return None

    def run(self, tick: Tick) -> Outcome:
        """Breadth-first from the initial states (`start`) to the end or the first reason to stop."""
        depth, started = 0, resident_bytes()
        while True:
            n = len(self.frontier)
            for start in range(0, n, CHUNK):
                outcome = self.merge(self.expander.expand(self.frontier, start, min(start + CHUNK, n), self.visited))
                if isinstance(outcome, Stop):
                    return Outcome(len(self.visited), self.generated, depth, self.violation(outcome))
                now = resident_bytes()
                grown = None if now is None or started is None else now - started
                if (stopped := outcome or tick(len(self.visited), self.generated, depth, grown)) is not None:
                    return Outcome(len(self.visited), self.generated, depth, stopped=stopped)
            if not self.next_level():
                return Outcome(len(self.visited), self.generated, depth)
            depth += 1

    def merge(self, chunk: Chunk) -> Stop | str | None:
        """Add a chunk's new states in order: its violation (a Stop), "max_states", or None to go on."""
        visited, keys = self.visited, self.keys
        violating = len(chunk.found) - 1 if chunk.stop is not None and chunk.stop.kind == "state" else -1
        for i, (t, key, parent, generated) in enumerate(chunk.found):
            if key in visited:
                continue
            visited[key] = keys[parent]
            self.next_frontier.append(t)
            self.next_keys.append(key)
            if i == violating:
                break
            if self.max_states is not None and len(visited) >= self.max_states:
                self.generated += generated
                return "max_states"
        if chunk.stop is not None:
            self.generated += chunk.stop.generated
            visited.setdefault(chunk.stop.key, keys[chunk.stop.parent])
            return chunk.stop
        self.generated += chunk.generated
        gc.freeze()  # visited states live to the end: keep the collector from rescanning them at every pass
        return None

    def next_level(self) -> bool:
        """Move to the next level; False when it is empty."""
        self.frontier, self.keys = self.next_frontier, self.next_keys
        self.next_frontier, self.next_keys = [], []
        return bool(self.frontier)

    def chain(self, key: Hashable) -> list[Hashable]:
        """The keys from an initial state to `key`."""
        keys = [key]
        while (parent := self.visited[keys[-1]]) is not None:
            keys.append(parent)
        return keys[::-1]

    def trace(self, key: Hashable) -> list[Step[Any]]:
        return lift(self.expander.model, self.chain(key), self.expander.keys.key)

    def violation(self, stop: Stop) -> Violation[Any]:
        chain = self.chain(stop.key if stop.kind == "state" else self.keys[stop.parent])
        return violation(self.expander, stop.invariant, stop.kind, stop.reason, chain, stop.key)


def violation(
    expander: Expander, invariant: str, kind: str, reason: str, chain: list[Hashable], key: Hashable
) -> Violation[Any]:
    """The violation as a trace of real states, `chain` the keys to the broken state (for a state
    invariant) or to the state the broken step left (for a step invariant, whose successor has `key`); its
    reason is recomputed on the trace's last state (or step)."""
    model = expander.model
    trace = lift(model, chain, expander.keys.key)
    if kind == "state":
        found = dict(model.invariants)[invariant](trace[-1].state)
    else:
        s, step_check = trace[-1].state, dict(model.step_invariants)[invariant]
        action, t = next(
            (a, t) for a, t in model.next(s) if t != s and expander.keys.key(t) == key and step_check(s, t) is not None
        )
        trace.append(Step(action, t))
        found = step_check(s, t)
    return Violation(invariant, kind, found or reason, trace)


def lift(model: SpecModel[Any], chain: list[Hashable], key: Callable[[Any], Hashable]) -> list[Step[Any]]:
    """Real states along a chain of keys: from the initial state, at each step the first action (in the
    spec's order) whose successor has the next key. Breadth-first search recorded exactly that action for
    a plain state; with fingerprints or symmetry it is one of the equally short ways there."""
    s = next(i for i in model.init() if key(i) == chain[0])
    trace: list[Step[Any]] = [Step(None, s)]
    for k in chain[1:]:
        action, s = next((a, t) for a, t in model.next(s) if t != s and key(t) == k)
        trace.append(Step(action, s))
    return trace
