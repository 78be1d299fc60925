"""The proved variants by name, loaded lazily (building a model declares Z3 symbols)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from paxiom.errors import PaxiomError

if TYPE_CHECKING:
    from paxiom.proofs.fol import TransitionSystem

MODULES = {
    "paxos": "paxiom.proofs.paxos",
    "flexible": "paxiom.proofs.flexible",
    "multipaxos": "paxiom.proofs.multipaxos",
    "fastpaxos": "paxiom.proofs.fastpaxos",
    "fast-flexible": "paxiom.proofs.fast_flexible",
    "cheap": "paxiom.proofs.cheap",
    "reconfig": "paxiom.proofs.reconfig",
}
NAMES = tuple(MODULES)


def model(name: str) -> TransitionSystem:
    from paxiom.proofs.fol import TransitionSystem  # Z3, only once a model is built

    if name not in MODULES:
        raise PaxiomError(f"unknown variant {name!r}; choose from {', '.join(NAMES)}")
    ts = importlib.import_module(MODULES[name]).MODEL
    assert isinstance(ts, TransitionSystem)
    return ts
