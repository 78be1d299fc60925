"""Breadth-first search on several processes, each owning a shard of the visited set for the whole run.

Worker w owns the states whose key hashes to w (mod the number of workers): it keeps their visited
entries and expands them when their level comes. Per level each worker expands its part of the frontier,
keeps the successors it owns and sends each other one to its owner (by way of the parent, which only
forwards bytes); each owner then takes, of the candidates for a state it has not visited, the one serial
BFS would have found first, and checks the invariants on the new states. That order is a successor's
position: its parent's rank in the level, then its place among the parent's successors. The parent ranks
the next level by merging the workers' positions, finds the first violation (or the `max_states` cut) by
its position and counts as serial BFS would at that point, so counts, parents and traces are the serial
ones (a state received is built as serial BFS keeps it, `search.settle`, so it expands in the same order).

A state sent is its fields with each set written as the numbers of its elements, each element sent to
that worker in full only the first time (`Outbox`, `Inbox`): a spec's messages repeat across states, and
pickling namedtuples one by one costs more than the expansion they save.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import pickle
import signal
import traceback
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from itertools import chain
from multiprocessing.connection import Connection
from typing import Any

from paxiom.explorer.core import resident_bytes
from paxiom.explorer.search import Expander, Outcome, Search, Tick, settle, violation

SHIFT = 32
"""A position is (parent's rank in its level) << SHIFT | (the successor's place among the parent's)."""

Entry = tuple[int, Any, Hashable, int]
"""A candidate new state: (position, state, key, parent's reference)."""


@dataclass(frozen=True)
class Broken:
    """A worker's first violation in a level."""

    position: int
    invariant: str
    kind: str
    reason: str
    ref: int
    """The broken state's reference (state invariants) or the expanded state's (step invariants)."""
    key: Hashable
    """The successor's key."""


class Numbers(dict[Hashable, int]):
    """Each element sent to one worker -> its number there, numbered as first seen (`new`: not yet sent)."""

    def __init__(self) -> None:
        super().__init__()
        self.new: list[Hashable] = []

    def __missing__(self, x: Hashable) -> int:
        n = self[x] = len(self)
        self.new.append(x)
        return n


class Outbox:
    """States bound for one worker, each set written as the numbers of its elements in iteration order."""

    def __init__(self) -> None:
        self.numbers = Numbers()

    def pack(self, entries: Iterable[Entry]) -> bytes:
        """The entries as bytes; a key that is its state is sent once, as the state."""
        number = self.numbers.__getitem__
        packed = []
        for pos, t, key, ref in entries:
            fields = [list(map(number, f)) if type(f) is frozenset else f for f in t]
            packed.append((pos, type(t), fields, None if key is t else key, ref))
        new, self.numbers.new = self.numbers.new, []
        return pickle.dumps((new, packed), pickle.HIGHEST_PROTOCOL)


class Inbox:
    """States from one worker, rebuilt with elements shared with the receiver's own (`common`)."""

    def __init__(self, common: dict[Hashable, Any]) -> None:
        self.elements: list[Any] = []
        self.common = common

    def unpack(self, data: bytes) -> list[Entry]:
        new, packed = pickle.loads(data)
        self.elements.extend(self.common.setdefault(x, x) for x in new)
        get = self.elements.__getitem__
        entries = []
        for pos, cls, fields, key, ref in packed:
            t = tuple.__new__(cls, [frozenset(map(get, f)) if type(f) is list else f for f in fields])
            entries.append((pos, t, t if key is None else key, ref))
        return entries


class Shard:
    """One worker's part of the search: its visited states (key -> parent's reference), its frontier."""

    def __init__(self, expander: Expander, me: int, workers: int, initial: list[tuple[Any, Hashable]]) -> None:
        self.expander, self.me, self.workers = expander, me, workers
        self.visited: dict[Hashable, int] = {}
        self.keys: list[Hashable] = []
        """The keys in the order visited: a state's reference is its index here * workers + me."""
        self.frontier: list[tuple[int, Any, int]] = []
        """(rank in the level, state, reference), in rank order."""
        self.counts: list[int] = []
        """Successors generated from each frontier state so far this level."""
        self.found: list[Entry] = []
        """This level's new states, in position order (the reference is the state's own)."""
        self.pending: dict[Hashable, Entry] = {}
        common: dict[Hashable, Any] = {}
        self.outboxes = [Outbox() for _ in range(workers)]
        self.inboxes = [Inbox(common) for _ in range(workers)]
        self.started = resident_bytes()
        for rank, (s, key) in enumerate(initial):
            if hash(key) % workers == me:
                self.frontier.append((rank, s, self.visit(key, -1)))

    def visit(self, key: Hashable, parent: int) -> int:
        self.visited[key] = parent
        self.keys.append(key)
        return (len(self.keys) - 1) * self.workers + self.me

    def expand(self, ranks: array[int] | None) -> tuple[list[bytes], int, Broken | None]:
        """Expand the frontier (the last level's new states, ranked, unless this is the first level): the
        candidates for each other worker, as bytes, how many successors were generated, and the first
        broken step."""
        if ranks is not None:
            self.frontier = [(rank, t, ref) for rank, (_, t, _, ref) in zip(ranks, self.found, strict=True)]
        self.found, self.counts = [], []
        me, workers, visited, counts = self.me, self.workers, self.visited, self.counts
        keys, step_broken = self.expander.keys, self.expander.steps.broken
        plain = keys.symmetry is None and keys.fingerprints is None
        outgoing: list[dict[Hashable, Entry]] = [{} for _ in range(workers)]
        stop = None
        for rank, s, ref in self.frontier:
            base, place = rank << SHIFT, -1
            for place, (_, t) in enumerate(self.expander.model.next(s)):
                if t == s:
                    continue
                if (bad := step_broken(s, t)) is not None:
                    stop = Broken(base | place, bad[0], "step", bad[1], ref, keys.key(t))
                    break
                if plain:
                    key = t
                else:
                    t, key = keys.normal(t)
                owner = hash(key) % workers
                out = outgoing[owner]
                if key in out or (owner == me and key in visited):
                    continue
                out[key] = (base | place, settle(t) if owner == me else t, key, ref)
            counts.append(place + 1)
            if stop is not None:
                break
        self.pending = outgoing[me]
        batches = [b"" if w == me else self.outboxes[w].pack(out.values()) for w, out in enumerate(outgoing)]
        return batches, sum(counts), stop

    def merge(self, batches: list[bytes]) -> tuple[array[int], Broken | None, int | None]:
        """Take the candidates sent here, keep each new state's first, visit them in position order and
        check them: their positions, the first broken invariant, and how much this worker has grown."""
        pending, visited = self.pending, self.visited
        for source, data in enumerate(batches):
            if source == self.me:
                continue
            for entry in self.inboxes[source].unpack(data):
                key = entry[2]
                if key in visited:
                    continue
                old = pending.get(key)
                if old is None or entry[0] < old[0]:
                    pending[key] = entry
        broken, stop = self.expander.invariants.broken, None
        for pos, t, key, parent in sorted(pending.values()):
            ref = self.visit(key, parent)
            self.found.append((pos, t, key, ref))
            if (bad := broken(t)) is not None:
                stop = Broken(pos, bad[0], "state", bad[1], ref, key)
                break
        self.pending = {}
        gc.freeze()  # visited states live to the end: keep the collector from rescanning them
        now = resident_bytes()
        grown = None if now is None or self.started is None else now - self.started
        return array("q", [e[0] for e in self.found]), stop, grown

    def generated_before(self, rank: int) -> int:
        """Successors generated this level from this worker's frontier states ranked below `rank`."""
        return sum(c for (r, _, _), c in zip(self.frontier, self.counts, strict=False) if r < rank)

    def known_before(self, key: Hashable, position: int) -> bool:
        """Whether serial BFS had visited `key` by `position` of this level."""
        return next((p < position for p, _, k, _ in self.found if k == key), key in self.visited)

    def entry(self, index: int) -> tuple[Hashable, int]:
        """The key visited `index`-th here and its parent's reference."""
        key = self.keys[index]
        return key, self.visited[key]


def _serve(expander: Expander, me: int, workers: int, initial: list[tuple[Any, Hashable]], conn: Connection) -> None:
    """A worker: run the shard's methods the parent names, sending back each result (or the traceback).
    Interrupts are the parent's to handle: it stops the workers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    shard = Shard(expander, me, workers, initial)
    while (request := conn.recv()) is not None:
        name, args = request
        try:
            conn.send((True, getattr(shard, name)(*args)))
        except Exception:
            conn.send((False, traceback.format_exc()))
            return


class Workers:
    """The worker processes, forked with the search's initial states, and calls to their shards."""

    def __init__(self, search: Search, workers: int) -> None:
        context = multiprocessing.get_context("fork")
        initial = list(zip(search.frontier, search.keys, strict=True))
        self.conns: list[Connection] = []
        self.processes = []
        for me in range(workers):
            parent, child = context.Pipe()
            process = context.Process(target=_serve, args=(search.expander, me, workers, initial, child), daemon=True)
            process.start()
            child.close()
            self.conns.append(parent)
            self.processes.append(process)

    def call(self, name: str, args: list[tuple[Any, ...]]) -> list[Any]:
        """Call `name` on every shard at once (args per shard), and return the results in shard order."""
        for conn, a in zip(self.conns, args, strict=True):
            conn.send((name, a))
        return [self.answer(conn) for conn in self.conns]

    def one(self, worker: int, name: str, *args: Any) -> Any:
        self.conns[worker].send((name, args))
        return self.answer(self.conns[worker])

    @staticmethod
    def answer(conn: Connection) -> Any:
        ok, value = conn.recv()
        if not ok:
            raise RuntimeError(f"an explorer worker failed:\n{value}")
        return value

    def close(self) -> None:
        for conn, process in zip(self.conns, self.processes, strict=True):
            with contextlib.suppress(OSError):  # a worker that failed has gone
                conn.send(None)
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join()
            conn.close()


def run(search: Search, workers: int, tick: Tick) -> Outcome:
    """Breadth-first on `workers` processes from the initial states `search` has visited (`Search.start`),
    with serial BFS's counts, parents and first violation."""
    pool = Workers(search, workers)
    try:
        return Levels(search, pool).run(tick)
    finally:
        pool.close()


class Levels:
    """The parent's side: each level expanded and merged by the shards, then counted and cut as serial."""

    def __init__(self, search: Search, pool: Workers) -> None:
        self.search, self.pool, self.n = search, pool, len(pool.conns)
        self.distinct, self.generated, self.depth = len(search.visited), search.generated, 0

    def run(self, tick: Tick) -> Outcome:
        ranks: list[array[int] | None] = [None] * self.n
        while True:
            expanded = self.pool.call("expand", [(r,) for r in ranks])
            merged = self.pool.call("merge", [([e[0][w] for e in expanded],) for w in range(self.n)])
            positions: list[array[int]] = [m[0] for m in merged]
            order = sorted(chain.from_iterable(positions))
            stops = [b for b in chain((e[2] for e in expanded), (m[1] for m in merged)) if b is not None]
            first = min(stops, key=lambda b: b.position, default=None)
            if (outcome := self.cut(order, first)) is not None:
                return outcome
            self.distinct += len(order)
            self.generated += sum(e[1] for e in expanded)
            grown = [m[2] for m in merged]
            stopped = tick(self.distinct, self.generated, self.depth, None if None in grown else sum(grown))
            if stopped is not None:
                return Outcome(self.distinct, self.generated, self.depth, stopped=stopped)
            if not order:
                return Outcome(self.distinct, self.generated, self.depth)
            rank = {p: i for i, p in enumerate(order)}
            ranks = [array("q", map(rank.__getitem__, p)) for p in positions]
            self.depth += 1

    def cut(self, order: list[int], first: Broken | None) -> Outcome | None:
        """Where serial BFS would have stopped in this level (`order`: its new states' positions), if it did."""
        limit = self.search.max_states
        before = len(order) if first is None else bisect_left(order, first.position)
        if limit is not None and before >= (need := max(limit - self.distinct, 1)):
            last = order[need - 1]
            return Outcome(self.distinct + need, self.generated_to(last), self.depth, stopped="max_states")
        if first is None:
            return None
        if first.kind == "state":
            distinct = self.distinct + bisect_right(order, first.position)
        else:
            known = self.pool.one(hash(first.key) % self.n, "known_before", first.key, first.position)
            distinct = self.distinct + before + (not known)
        found = violation(
            self.search.expander, first.invariant, first.kind, first.reason, self.chain(first.ref), first.key
        )
        return Outcome(distinct, self.generated_to(first.position), self.depth, found)

    def generated_to(self, position: int) -> int:
        """Successors generated by serial BFS up to and including the one at `position` of this level."""
        rank, place = position >> SHIFT, position & ((1 << SHIFT) - 1)
        before: list[int] = self.pool.call("generated_before", [(rank,)] * self.n)
        return self.generated + sum(before) + place + 1

    def chain(self, ref: int) -> list[Hashable]:
        """The keys from an initial state to the state with reference `ref`."""
        keys = []
        while ref >= 0:
            key, ref = self.pool.one(ref % self.n, "entry", ref // self.n)
            keys.append(key)
        return keys[::-1]
