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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from paxiom.lin.models import ILLEGAL, apply

Verdict = Literal["ok", "violation", "unknown"]
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
    ok_ops = sorted((e for e in entries if e.ret is not None), key=lambda e: e.ret or 0)
    n_ok = len(ok_ops)
    if n_ok == 0:
        return Outcome("ok")
    okid = {id(e): i for i, e in enumerate(ok_ops)}
    info_ops = sorted((e for e in entries if e.ret is None), key=lambda e: e.call)
    infobit = {id(e): 1 << i for i, e in enumerate(info_ops)}

    # Nodes 1..m in real-time order; node 0 is the head, node m+1 the tail.
    events = sorted(
        [(e.call, 0, e) for e in entries] + [(e.ret, 1, e) for e in ok_ops if e.ret is not None],
        key=lambda t: (t[0], t[1]),
    )
    m = len(events)
    tail = m + 1
    nxt = [*range(1, m + 2), tail]
    prv = [0, *range(0, m + 1)]
    kind = [-1] * (m + 2)  # -1 on return nodes, head and tail
    arg_a: list[Any] = [None] * (m + 2)
    arg_b: list[Any] = [None] * (m + 2)
    ident = [-1] * (m + 2)  # ok id of a call, or -1 for an indeterminate call
    ibit = [0] * (m + 2)
    match = [0] * (m + 2)  # the return node of an ok call; 0 for an indeterminate call
    owner = [0] * (m + 2)  # Entry.op of the node's operation
    ret_node: dict[int, int] = {}
    for node, (_, is_ret, e) in enumerate(events, start=1):
        owner[node] = e.op
        if is_ret:
            ret_node[id(e)] = node
        else:
            kind[node], arg_a[node], arg_b[node] = e.kind, e.a, e.b
            ident[node] = okid.get(id(e), -1)
            ibit[node] = infobit.get(id(e), 0)
    for node in range(1, m + 1):
        if kind[node] >= 0 and ident[node] >= 0:
            match[node] = ret_node[id(ok_ops[ident[node]])]

    state = init
    low, rel, info = 0, 0, 0
    stack: list[tuple[int, Any, int, int, int]] = []
    cache: set[tuple[int, int, int, Any]] = set()
    horizon = 0
    best: tuple[tuple[int, ...], Any, int | None] = ((), init, None)
    countdown = CHECK_EVERY
    node = nxt[0]
    while True:
        k = kind[node]
        if k < 0:
            if node == tail:  # only indeterminate calls were left: every completed operation is placed
                return Outcome("ok", configurations=len(cache))
            # a return entry: its operation could not be linearized before it; backtrack
            if node > horizon:
                horizon = node
            if trace and len(stack) >= len(best[0]):
                best = (tuple(owner[f[0]] for f in stack), state, owner[node])
            if not stack:
                blocked = best[2] if trace else None
                return Outcome(
                    "violation",
                    horizon=events[horizon - 1][0],
                    deepest=best[0],
                    state=best[1],
                    blocked=blocked,
                    configurations=len(cache),
                )
            node, state, low, rel, info = stack.pop()
            r = match[node]
            if r:
                nxt[prv[r]] = r
                prv[nxt[r]] = r
            nxt[prv[node]] = node
            prv[nxt[node]] = node
            node = nxt[node]
            continue
        countdown -= 1
        if countdown == 0:
            countdown = CHECK_EVERY
            if deadline is not None and time.monotonic() > deadline:
                return Outcome("unknown", reason="timeout", configurations=len(cache))
            if len(cache) > max_configurations:
                return Outcome(
                    "unknown",
                    reason=f"memory budget ({max_configurations} configurations) exhausted",
                    configurations=len(cache),
                )
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
        stack.append((node, state, low, rel, info))
        state, low, rel, info = new, nlow, nrel, ninfo
        r = match[node]
        nxt[prv[node]] = nxt[node]
        prv[nxt[node]] = prv[node]
        if r:
            nxt[prv[r]] = nxt[r]
            prv[nxt[r]] = prv[r]
        node = nxt[0]
