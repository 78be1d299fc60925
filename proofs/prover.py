"""Running a proof the way a user asks for it: pick a variant, drop conjuncts or weaken axioms, discharge
every obligation, and explain the first failure as a counterexample to induction."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from paxiom.errors import PaxiomError
from paxiom.proofs import DEFAULT_TIMEOUT_S
from paxiom.proofs.check import Obligation, dropped, obligations, weakened
from paxiom.proofs.cti import Counterexample, ModelLost, explain
from paxiom.proofs.fol import TransitionSystem


def canonical(name: str) -> str:
    """Conjunct and axiom names are snake_case; the command line may use dashes (quorum-intersection)."""
    return name.strip().replace("-", "_")


def has_conjunct(ts: TransitionSystem, name: str) -> bool:
    return any(c.name == canonical(name) for c in ts.conjuncts)


def has_weakenable_axiom(ts: TransitionSystem, name: str) -> bool:
    return any(a.name == canonical(name) and a.weakened is not None for a in ts.axioms)


def variation(ts: TransitionSystem, drop: Sequence[str] = (), weaken: Sequence[str] = ()) -> TransitionSystem:
    """`ts` with conjuncts dropped and axioms weakened; unknown names are a PaxiomError naming the choices."""
    for name in drop:
        if not has_conjunct(ts, name):
            names = ", ".join(c.name for c in ts.conjuncts)
            raise PaxiomError(f"{ts.variant} has no invariant conjunct {name!r}; its conjuncts are {names}")
    for name in weaken:
        if not has_weakenable_axiom(ts, name):
            names = ", ".join(a.name for a in ts.axioms if a.weakened is not None)
            raise PaxiomError(f"{ts.variant} has no quorum axiom {name!r} to weaken; it has {names}")
    return weakened(dropped(ts, [canonical(n) for n in drop]), [canonical(n) for n in weaken])


@dataclass
class ProofResult:
    variant: str
    title: str
    dropped: tuple[str, ...]
    weakened: tuple[str, ...]
    obligations: list[Obligation]
    cti: Counterexample | None
    seconds: float

    @property
    def proved(self) -> bool:
        return all(ob.status == "proved" for ob in self.obligations)

    def to_json(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "proved": self.proved,
            "seconds": round(self.seconds, 4),
            "dropped": list(self.dropped),
            "weakened": list(self.weakened),
            "obligations": [ob.to_json() for ob in self.obligations],
            "cti": None if self.cti is None else self.cti.to_json(),
        }


def prove(
    ts: TransitionSystem,
    *,
    drop: Sequence[str] = (),
    weaken: Sequence[str] = (),
    timeout_s: float = DEFAULT_TIMEOUT_S,
    progress: Callable[[Obligation], None] | None = None,
) -> ProofResult:
    """Discharge every obligation of the (possibly varied) model; explain the first failed one."""
    start = time.perf_counter()
    varied = variation(ts, drop, weaken)
    done: list[Obligation] = []
    for ob in obligations(varied, timeout_s):
        done.append(ob)
        if progress is not None:
            progress(ob)
    failed = next((ob for ob in done if ob.status == "failed"), None)
    cti = None
    if failed is not None:
        try:
            cti = explain(varied, failed)
        except ModelLost as lost:
            failed.reason = str(lost)
    return ProofResult(
        ts.variant,
        ts.title,
        tuple(canonical(n) for n in drop),
        tuple(canonical(n) for n in weaken),
        done,
        cti,
        time.perf_counter() - start,
    )
