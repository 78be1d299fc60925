"""Realistic histories from a simulated register service, for the benchmark and the tests.

Clients run concurrently against a linearizable store of independent cas-registers: each operation takes
effect at one instant between its invocation and completion (random latencies either side). With
`info_rate` an operation's reply is lost (:info) whether or not it took effect, and its process is
retired for a fresh one, as Jepsen does. With `stale_rate` a read returns a value that is certainly stale
— one overwritten by a write that completed before the read was invoked, itself written by an operation
that completed before that write began — so the history is certainly not linearizable.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field
from typing import Any

from paxiom.lin.history import Event, EventType


@dataclass(slots=True)
class _Op:
    process: int
    key: int | None
    f: str
    value: Any
    start: float
    point: float  # when it takes effect
    done: float
    info: bool
    output: Any = None
    status: str = "ok"


@dataclass(slots=True)
class _Key:
    """The register's value and the ops that set its earlier values (for certainly-stale reads)."""

    value: Any = None
    setter: _Op | None = None  # the op that wrote `value` (None: the initial nil)
    stale: list[tuple[Any, float]] = field(default_factory=list)  # (value, time after which no read may see it)


def simulate(
    n_ops: int,
    *,
    keys: int = 1,
    concurrency: int = 5,
    info_rate: float = 0.0,
    stale_rate: float = 0.0,
    seed: int = 0,
) -> list[Event]:
    """A history of `n_ops` operations on `keys` registers (keys=1: the single register, key None)."""
    rng = random.Random(seed)
    ops = _schedule(rng, n_ops, keys, concurrency, info_rate)
    _execute(rng, ops, stale_rate)
    return _events(ops)


def _schedule(rng: random.Random, n_ops: int, keys: int, concurrency: int, info_rate: float) -> list[_Op]:
    ready = [(rng.random(), p) for p in range(concurrency)]
    heapq.heapify(ready)
    ops: list[_Op] = []
    fresh = concurrency
    for _ in range(n_ops):
        now, process = heapq.heappop(ready)
        roll = rng.random()
        f = "read" if roll < 0.5 else "write" if roll < 0.8 else "cas"
        point = now + rng.expovariate(1.0)
        done = point + rng.expovariate(1.0)
        key = rng.randrange(keys) if keys > 1 else None
        info = rng.random() < info_rate
        ops.append(_Op(process, key, f, None, now, point, done, info))
        if info:
            process, fresh = fresh, fresh + 1
        heapq.heappush(ready, (done + rng.expovariate(4.0), process))
    return ops


def _execute(rng: random.Random, ops: list[_Op], stale_rate: float) -> None:
    registers: dict[Any, _Key] = {}
    counter = 0
    for op in sorted(ops, key=lambda o: o.point):
        reg = registers.setdefault(op.key, _Key())
        effective = not op.info or rng.random() < 0.5
        if op.f == "read":
            op.output = reg.value
            if stale_rate and rng.random() < stale_rate:
                old = [value for value, after in reg.stale if after < op.start]
                op.output = rng.choice(old) if old else op.output
            continue
        counter += 1
        if op.f == "write":
            op.value = counter
        else:
            guess = reg.value if rng.random() < 0.6 else rng.randint(max(0, counter - 5), counter)
            op.value = (guess, counter)
            if reg.value != guess:
                op.status = "fail"
                continue
        if effective:
            _overwrite(reg, op)
            reg.value = op.value if op.f == "write" else op.value[1]


def _overwrite(reg: _Key, op: _Op) -> None:
    """Remember the value `op` replaces as certainly stale for reads invoked after `op` completes.

    That holds when `op` and the op that wrote the old value both completed (neither :info) and the old
    writer finished before `op` began: every linearization then orders old writer < op < such a read, and
    values are unique, so nothing else can have written the old value back.
    """
    prior = reg.setter
    if not op.info and (prior is None or (not prior.info and prior.done < op.start)):
        reg.stale = [*reg.stale[-7:], (reg.value, op.done)]
    reg.setter = op


def _events(ops: list[_Op]) -> list[Event]:
    timeline: list[tuple[float, int, int, _Op]] = []
    for i, op in enumerate(ops):
        timeline.append((op.start, 0, i, op))
        timeline.append((op.done, 1, i, op))
    timeline.sort(key=lambda t: (t[0], t[1]))
    events: list[Event] = []
    for at, is_done, _, op in timeline:
        kind: EventType = "invoke"
        value = op.value
        if is_done:
            kind = "info" if op.info else "fail" if op.status == "fail" else "ok"
            if op.f == "read":
                value = op.output if kind == "ok" else None
        events.append(Event(len(events), op.process, kind, op.f, value, op.key, int(at * 1e6)))
    return events
