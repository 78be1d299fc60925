"""The acceptor's two rules as pure functions: the heart of every Paxos variant's safety.

They carry PEP 316 contracts that CrossHair checks symbolically (`make crosshair`): an acceptor never
lowers its promise, never votes below it, and a vote always stays at or below the promise.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol


class Acceptor(NamedTuple):
    """An acceptor's durable state: its promise and its latest vote (ballot -1 and value None: no vote)."""

    max_bal: int
    max_vbal: int
    max_val: str | None


def promise(acc: Acceptor, b: int) -> Acceptor | None:
    """Join ballot b (phase 1b): only strictly above the current promise, so no ballot is joined twice.

    pre: acc.max_vbal <= acc.max_bal
    post: __return__ is None or (__return__.max_bal == b and b > acc.max_bal)
    post: __return__ is None or (__return__.max_vbal, __return__.max_val) == (acc.max_vbal, acc.max_val)
    post: __return__ is not None or b <= acc.max_bal
    """
    if b <= acc.max_bal:
        return None
    return acc._replace(max_bal=b)


def accept(acc: Acceptor, b: int, v: str) -> Acceptor | None:
    """Vote for v at ballot b (phase 2b): allowed at or above the promise, which then rises to b.

    pre: acc.max_vbal <= acc.max_bal
    post: __return__ is None or __return__ == Acceptor(b, b, v)
    post: __return__ is None or __return__.max_bal >= acc.max_bal
    post: __return__ is not None or b < acc.max_bal
    """
    if b < acc.max_bal:
        return None
    return Acceptor(b, b, v)


class Promises(Protocol):
    """Any spec state that records each acceptor's promise."""

    @property
    def max_bal(self) -> tuple[int, ...]: ...


def promises_only_grow(cfg: object, s: Promises, t: Promises) -> str | None:
    """Step invariant: an acceptor's promise never decreases, across every step (crashes included)."""
    for a, (before, after) in enumerate(zip(s.max_bal, t.max_bal, strict=True)):
        if after < before:
            return f"acceptor {a}'s promise went down from {before} to {after}"
    return None
