"""Check a history for linearizability, key by key, and explain a violation with a minimal sub-history.

Linearizability is local (Herlihy & Wing): a history of independent keys is linearizable iff each key's
sub-history is, so each key is searched alone (P-compositionality, as Porcupine does) and reported on its
own. A search that exhausts its time or memory budget is "unknown" — never "ok".

On a violation the failing key's operations are shrunk: first to those invoked before the search's
horizon (the furthest completion it ever reached), then by removing chunks and then single operations
while what remains is still not linearizable. An operation goes together with the observations only it
explains (a read keeps a writer of the value it read), so the result shows the stale read with the
writes that make it stale rather than "a read of a value nobody wrote". The result is minimal — removing
any one operation that way leaves a linearizable history — unless the shrink budget ran out first,
which the explanation says.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from paxiom.errors import PaxiomError
from paxiom.lin.history import Event, Operation, pair
from paxiom.lin.models import MODELS, Model, infer, show_state
from paxiom.lin.search import Entry, Outcome, Verdict, search

SHRINK_CHECKS = 4000  # searches the shrink may spend
SHRINK_SECONDS = 20.0


@dataclass(frozen=True, slots=True)
class KeyResult:
    """The verdict for one key's sub-history."""

    key: Any
    verdict: Verdict
    operations: int  # operations of this key (all outcomes)
    reason: str = ""  # why "unknown"
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class Explanation:
    """A smallest non-linearizable set of one key's operations and where its linearization gets stuck."""

    key: Any
    operations: tuple[Operation, ...]  # in invocation order
    minimal: bool  # True: removing any one operation (see `without`) makes it linearizable; False: within budget
    linearized: tuple[Operation, ...]  # a longest partial linearization of `operations`
    state: Any  # the model state after `linearized`
    blocked: Operation | None  # the operation whose completion no extension of `linearized` can precede

    def lines(self, model: Model) -> list[str]:
        """Human-readable lines: the operations, then the linearization that gets stuck."""
        out = [
            f"key {show_state(self.key)}: {len(self.operations)} operations cannot be linearized"
            + ("" if self.minimal else " (minimal within the shrink budget)")
        ]
        out += [f"  op {op.id} process {op.process}: {model.describe(op)}" for op in self.operations]
        steps = " ; ".join(model.describe(op) for op in self.linearized) or "nothing"
        out.append(f"  longest linearization: {steps}")
        if self.blocked is not None:
            state, blocked = show_state(self.state), model.describe(self.blocked)
            out.append(f"  then, in state {state}, op {self.blocked.id} ({blocked}) must take effect, and cannot")
        return out


@dataclass(frozen=True, slots=True)
class Result:
    """The verdict on a whole history: "violation" if any key violates, else "unknown" if any ran out."""

    verdict: Verdict
    model: Model
    keys: tuple[KeyResult, ...]
    operations: tuple[Operation, ...]
    explanation: Explanation | None = None
    seconds: float = 0.0

    @property
    def linearizable(self) -> bool:
        return self.verdict == "ok"

    def to_json(self) -> dict[str, Any]:
        """The document `paxiom lin check --json` prints."""
        doc: dict[str, Any] = {
            "verdict": self.verdict,
            "linearizable": self.linearizable,
            "model": self.model.name,
            "operations": len(self.operations),
            "seconds": round(self.seconds, 4),
            "keys": [
                {"key": k.key, "verdict": k.verdict, "operations": k.operations, "reason": k.reason or None}
                for k in self.keys
            ],
        }
        doc["explanation"] = None
        if self.explanation is not None:
            ex = self.explanation
            doc["explanation"] = {
                "key": ex.key,
                "minimal": ex.minimal,
                "operations": [_op_json(op, self.model) for op in ex.operations],
                "linearized": [op.id for op in ex.linearized],
                "state": ex.state,
                "blocked": None if ex.blocked is None else ex.blocked.id,
            }
        return doc


def _op_json(op: Operation, model: Model) -> dict[str, Any]:
    return {
        "id": op.id,
        "process": op.process,
        "f": op.f,
        "value": op.value,
        "output": op.output,
        "status": op.status,
        "call": op.call,
        "ret": op.ret,
        "text": model.describe(op),
    }


def check(
    history: Sequence[Event] | Sequence[Operation],
    *,
    model: str | Model | None = None,
    timeout: float | None = None,
    explain: bool = True,
    max_configurations: int = 2_000_000,
) -> Result:
    """Decide whether a history (events, or operations from `pair`) is linearizable under `model`.

    `model` is "cas-register", "kv", a Model, or None to infer it from the operations' f. `timeout` bounds
    the whole check in seconds (keys not finished are "unknown"); `max_configurations` bounds each key's
    cache. Raises PaxiomError when an operation does not belong to the model.
    """
    started = time.monotonic()
    ops = _operations(history)
    if isinstance(model, str) and model not in MODELS:
        raise PaxiomError(f"unknown model {model!r} (models: {', '.join(sorted(MODELS))})")
    chosen = model if isinstance(model, Model) else (MODELS[model] if model else infer(ops))
    deadline = None if timeout is None else started + timeout
    by_key: dict[Any, list[Operation]] = defaultdict(list)
    for op in ops:
        by_key[op.key].append(op)
    results: list[KeyResult] = []
    outcomes: dict[Any, Outcome] = {}
    for key, key_ops in sorted(by_key.items(), key=lambda kv: repr(kv[0])):
        t0 = time.monotonic()
        if deadline is not None and t0 > deadline:
            outcome = Outcome("unknown", reason="timeout before this key was searched")
        else:
            outcome = search(_entries(key_ops, chosen), deadline=deadline, max_configurations=max_configurations)
        reason = f"timeout after {timeout:g} s" if outcome.reason == "timeout" else outcome.reason
        results.append(KeyResult(key, outcome.verdict, len(key_ops), reason, time.monotonic() - t0))
        outcomes[key] = outcome
    verdict: Verdict = "ok"
    if any(r.verdict == "violation" for r in results):
        verdict = "violation"
    elif any(r.verdict == "unknown" for r in results):
        verdict = "unknown"
    explanation = None
    if verdict == "violation" and explain:
        first = next(r for r in results if r.verdict == "violation")
        explanation = explain_key(by_key[first.key], chosen, outcomes[first.key], first.key)
    return Result(verdict, chosen, tuple(results), tuple(ops), explanation, time.monotonic() - started)


def _operations(history: Sequence[Event] | Sequence[Operation]) -> list[Operation]:
    if not history or isinstance(history[0], Operation):
        return [op for op in history if isinstance(op, Operation)]
    return pair([ev for ev in history if isinstance(ev, Event)])


def _entries(ops: Sequence[Operation], model: Model) -> list[Entry]:
    entries = []
    for i, op in enumerate(ops):
        step = model.compile(op)
        if step is not None:
            ret = op.ret if op.status == "ok" else None
            entries.append(Entry(step[0], step[1], step[2], op.call, ret, i))
    return entries


def linearizable(ops: Sequence[Operation], model: Model, deadline: float | None = None) -> Verdict:
    """The verdict on one key's operations (the shrink's oracle, and the tests')."""
    return search(_entries(ops, model), deadline=deadline).verdict


def without(ops: Sequence[Operation], removed: Sequence[Operation], model: Model) -> list[Operation]:
    """`ops` minus `removed`, minus every operation that then observes a value no remaining one produces.

    An observation already unexplained in `ops` (a value nobody wrote) stays: it is itself the anomaly.
    """
    gone = {op.id for op in removed}
    kept = [op for op in ops if op.id not in gone]
    before = _producers(ops, model)
    while True:
        now = _producers(kept, model)
        orphaned = {op.id for op in kept if _explained(op, before, model) and not _explained(op, now, model)}
        if not orphaned:
            return kept
        kept = [op for op in kept if op.id not in orphaned]


def _producers(ops: Sequence[Operation], model: Model) -> dict[Any, set[int]]:
    producers: dict[Any, set[int]] = defaultdict(set)
    for op in ops:
        for token in model.produces(op):
            producers[token].add(op.id)
    return producers


def _explained(op: Operation, producers: dict[Any, set[int]], model: Model) -> bool:
    needed = model.requires(op)
    return not needed or any(producers.get(token, set()) - {op.id} for token in needed)


def explain_key(ops: list[Operation], model: Model, outcome: Outcome, key: Any) -> Explanation:
    """Shrink a non-linearizable key history to a minimal one (within budget) and trace where it sticks.

    Minimal means: removing any one operation — with the observations only it explains (see `without`) —
    leaves a linearizable history.
    """
    deadline = time.monotonic() + SHRINK_SECONDS
    budget = [SHRINK_CHECKS]

    def still_fails(candidate: list[Operation]) -> bool | None:
        if budget[0] <= 0 or time.monotonic() > deadline:
            return None
        budget[0] -= 1
        verdict = linearizable(candidate, model, deadline)
        return None if verdict == "unknown" else verdict == "violation"

    relevant = [op for op in ops if model.compile(op) is not None]
    horizon = outcome.horizon if outcome.horizon is not None else max(op.call for op in ops) + 1
    current = without(relevant, [op for op in relevant if op.call >= horizon], model)
    if still_fails(current) is not True:
        current = relevant
    minimal = True
    chunk = max(1, len(current) // 2)
    while chunk >= 1:
        i = 0
        changed = False
        while i < len(current):
            candidate = without(current, current[i : i + chunk], model)
            verdict = still_fails(candidate) if candidate else False
            if verdict is None:
                minimal = False
                break
            if verdict:
                current, changed = candidate, True
            else:
                i += chunk
        if not minimal:
            break
        if chunk == 1 and not changed:
            break  # a full pass of single removals removed nothing: minimal
        chunk = max(1, chunk // 2)
    traced = search(_entries(current, model), trace=True)
    linearized = tuple(current[i] for i in traced.deepest)
    blocked = None if traced.blocked is None else current[traced.blocked]
    return Explanation(
        key, tuple(current), minimal and traced.verdict == "violation", linearized, traced.state, blocked
    )
