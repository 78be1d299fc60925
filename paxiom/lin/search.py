"""The Wing–Gong / Lowe search for one key, as Porcupine runs it, tuned for pure Python.

Call and return entries form a doubly linked list in real-time order (parallel int arrays: node 0 is the
head, the last node the tail). Scanning from the head, a call whose step is legal in the current state is
linearized: it and its return are lifted out of the list, the previous (node, state) is pushed, and the
scan restarts. Reaching a return entry means its operation could not be placed before it: pop and try
the next call instead. A cache of configurations already explored — (linearized set, state) — prunes
revisits; it is what makes the search practical (Lowe's memoisation, which Porcupine keeps).

The linearized set is kept compact. Operations that complete are numbered in return order, so the set is
"every id below `low`" plus a small bitset `rel` of ids from `low` up (only operations concurrent with
the first pending return can be there); indeterminate operations, which never have to be linearized, get
their own bitset. A configuration is the tuple (low, rel, info, state): small ints and a hashable state,
so hashing and copying cost O(concurrency), not O(history).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from paxiom.lin.models import APPEND, CAS, ILLEGAL, READ, WRITE, apply

Verdict = Literal["ok", "violation", "unknown"]
VIRTUAL = -2  # node kind of an indeterminate operation's `until`
CHECK_EVERY = 2048  # search iterations between deadline checks


@dataclass(frozen=True, slots=True)
class Entry:
    """One operation of a key as the search sees it: a compiled step and its real-time interval."""

    kind: int
    a: Any
    b: Any
    call: int  # position of the invocation
    ret: int | None  # position of the completion; None: indeterminate (may take effect any time, or never)
    op: int  # the caller's index for this entry
    until: int | None = None  # indeterminate only: it takes effect before this position or it is dropped


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one search found."""

    verdict: Verdict
    reason: str = ""  # why a search is "unknown"
    horizon: int | None = None  # violation: no operation invoked after this position took part
    deepest: tuple[int, ...] = ()  # with `trace`: the longest partial linearization (Entry.op values)
    state: Any = None  # the model state after `deepest`
    blocked: int | None = None  # the Entry.op whose completion that partial linearization could not pass
    configurations: int = 0  # cache size reached


def search(
    entries: Sequence[Entry],
    init: Any = None,
    *,
    deadline: float | None = None,
    max_configurations: int = 2_000_000,
    trace: bool = False,
) -> Outcome:
    """Decide whether `entries` (one key) linearize from state `init`."""
    entries = bound_indeterminate(entries)
    ok_ops = sorted((e for e in entries if e.ret is not None), key=lambda e: e.ret or 0)
    n_ok = len(ok_ops)
    if n_ok == 0:
        return Outcome("ok")
    okid = {id(e): i for i, e in enumerate(ok_ops)}
    info_ops = sorted((e for e in entries if e.ret is None), key=lambda e: e.call)
    infobit = {id(e): 1 << i for i, e in enumerate(info_ops)}

    # Nodes 1..m in real-time order; node 0 is the head, node m+1 the tail.
    events = sorted(
        [(e.call, 0, e) for e in entries]
        + [(e.ret, 1, e) for e in ok_ops if e.ret is not None]
        + [(e.until, 2, e) for e in info_ops if e.until is not None],
        key=lambda t: (t[0], t[1]),
    )
    m = len(events)
    tail = m + 1
    nxt = [*range(1, m + 2), tail]
    prv = [0, *range(0, m + 1)]
    kind = [-1] * (m + 2)  # -1 on return nodes, head and tail; VIRTUAL on an indeterminate call's `until`
    arg_a: list[Any] = [None] * (m + 2)
    arg_b: list[Any] = [None] * (m + 2)
    ident = [-1] * (m + 2)  # ok id of a call, or -1 for an indeterminate call
    ibit = [0] * (m + 2)
    match = [0] * (m + 2)  # the return node of an ok call (an indeterminate one's `until` node, or 0)
    owner = [0] * (m + 2)  # Entry.op of the node's operation
    ret_node: dict[int, int] = {}
    for node, (_, is_ret, e) in enumerate(events, start=1):
        owner[node] = e.op
        if is_ret:
            ret_node[id(e)] = node
            kind[node] = VIRTUAL if is_ret == 2 else -1
        else:
            kind[node], arg_a[node], arg_b[node] = e.kind, e.a, e.b
            ident[node] = okid.get(id(e), -1)
            ibit[node] = infobit.get(id(e), 0)
    call_of = {id(events[node - 1][2]): node for node in range(1, m + 1) if kind[node] >= 0}
    for node in range(1, m + 1):
        if kind[node] >= 0:
            match[node] = ret_node.get(id(events[node - 1][2]), 0)
        elif kind[node] == VIRTUAL:
            match[node] = call_of[id(events[node - 1][2])]  # a virtual return points back at its call

    state = init
    low, rel, info = 0, 0, 0
    stack: list[tuple[int, Any, int, int, int, bool]] = []  # (node, state, low, rel, info, forced) to restore
    cache: set[tuple[int, int, int, Any]] = set()
    horizon = 0
    best: tuple[tuple[int, ...], Any, int | None] = ((), init, None)
    countdown = CHECK_EVERY
    sweep = True
    node = 0
    while True:
        dead = False
        if sweep:
            # Reads legal in this state are placed first, with no alternatives: a read changes nothing, so if
            # any linearization extends this configuration, one starts with the read (and a cached
            # configuration after it is a known dead end for this one too).
            sweep = False
            node = nxt[0]
            while kind[node] >= 0:
                if kind[node] == READ and state == arg_a[node]:
                    j = ident[node]
                    nlow, nrel = low, rel | (1 << (j - low))
                    if j == low:
                        t = (nrel ^ (nrel + 1)).bit_length() - 1
                        nrel >>= t
                        nlow += t
                    config = (nlow, nrel, info, state)
                    if config in cache:
                        dead = True
                        break
                    cache.add(config)
                    if nlow == n_ok:
                        return Outcome("ok", configurations=len(cache))
                    stack.append((node, state, low, rel, info, True))
                    low, rel = nlow, nrel
                    r = match[node]
                    nxt[prv[node]] = nxt[node]
                    prv[nxt[node]] = prv[node]
                    nxt[prv[r]] = nxt[r]
                    prv[nxt[r]] = prv[r]
                node = nxt[node]
            node = nxt[0]
        if not dead:
            k = kind[node]
            if k >= 0:
                countdown -= 1
                if countdown == 0:
                    countdown = CHECK_EVERY
                    if deadline is not None and time.monotonic() > deadline:
                        return Outcome("unknown", reason="timeout", configurations=len(cache))
                    if len(cache) > max_configurations:
                        reason = f"memory budget ({max_configurations} configurations) exhausted"
                        return Outcome("unknown", reason=reason, configurations=len(cache))
                new = apply(state, k, arg_a[node], arg_b[node])
                if new is ILLEGAL:
                    node = nxt[node]
                    continue
                j = ident[node]
                if j >= 0:
                    nlow, ninfo = low, info
                    nrel = rel | (1 << (j - low))
                    if j == low:
                        t = (nrel ^ (nrel + 1)).bit_length() - 1
                        nrel >>= t
                        nlow += t
                else:
                    nlow, nrel, ninfo = low, rel, info | ibit[node]
                config = (nlow, nrel, ninfo, new)
                if config in cache:
                    node = nxt[node]
                    continue
                cache.add(config)
                if nlow == n_ok:
                    return Outcome("ok", configurations=len(cache))
                stack.append((node, state, low, rel, info, False))
                state, low, rel, info = new, nlow, nrel, ninfo
                r = match[node]
                nxt[prv[node]] = nxt[node]
                prv[nxt[node]] = prv[node]
                if r:
                    nxt[prv[r]] = nxt[r]
                    prv[nxt[r]] = prv[r]
                sweep = True
                continue
            if node == tail:  # only indeterminate calls were left: every completed operation is placed
                return Outcome("ok", configurations=len(cache))
            if k == VIRTUAL:
                # Past this point the indeterminate op could only take effect unobserved: drop it (no
                # alternatives: every placement before here has been tried from this configuration).
                call = match[node]
                config = (low, rel, info | ibit[call], state)
                if config not in cache:
                    cache.add(config)
                    stack.append((call, state, low, rel, info, True))
                    info |= ibit[call]
                    nxt[prv[node]] = nxt[node]
                    prv[nxt[node]] = prv[node]
                    nxt[prv[call]] = nxt[call]
                    prv[nxt[call]] = prv[call]
                    sweep = True
                    continue
            else:
                # a return entry: its operation could not be linearized before it
                if node > horizon:
                    horizon = node
                if trace and len(stack) >= len(best[0]):
                    best = (tuple(owner[f[0]] for f in stack), state, owner[node])
        # backtrack past the forced reads to the last choice, and try the next candidate after it
        while True:
            if not stack:
                return Outcome(
                    "violation",
                    horizon=events[horizon - 1][0] if horizon else None,
                    deepest=best[0],
                    state=best[1],
                    blocked=best[2],
                    configurations=len(cache),
                )
            node, state, low, rel, info, forced = stack.pop()
            r = match[node]
            if r:
                nxt[prv[r]] = r
                prv[nxt[r]] = r
            nxt[prv[node]] = node
            prv[nxt[node]] = node
            if not forced:
                break
        node = nxt[node]


def bound_indeterminate(entries: Sequence[Entry]) -> list[Entry]:
    """Drop or bound the indeterminate updates of a register history (a no-op when it has appends).

    An indeterminate write of v (or cas to v) that no later state-dependent step of another operation
    could observe — no read returning v, no cas from v — can be dropped: placed anywhere, it is followed
    by a blind write or nothing. If every such observer completes, it may be assumed to take effect before
    the last of them completes, or never (`until`): after that point it is again unobservable. This keeps
    indeterminate operations from staying candidates for the rest of the history. Repeated a few times,
    since a dropped cas no longer observes its own precondition; any round's result is sound.
    """
    if any(e.kind == APPEND for e in entries):
        return list(entries)
    live = list(entries)
    for _ in range(4):
        last_ok: dict[Any, int] = {}  # value -> the latest completion of an operation that must observe it
        open_observers: defaultdict[Any, int] = defaultdict(int)  # value -> indeterminate observers
        for e in live:
            if e.kind in (READ, CAS):
                if e.ret is None:
                    open_observers[e.a] += 1
                elif e.ret > last_ok.get(e.a, -1):
                    last_ok[e.a] = e.ret
        bounded: list[Entry] = []
        for e in live:
            if e.ret is not None:
                bounded.append(e)
                continue
            value = e.a if e.kind == WRITE else e.b
            if open_observers[value] - (e.kind == CAS and e.a == value) > 0:
                bounded.append(replace(e, until=None))
            elif last_ok.get(value, -1) > e.call:
                bounded.append(replace(e, until=last_ok[value]))
        if len(bounded) == len(live):
            return bounded
        live = bounded
    return live
