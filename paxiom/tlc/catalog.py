"""The TLC models checked in under `tla/`, and bigger ones kept for slow runs.

This list is the source of truth: the `MC*.tla`/`MC*.cfg` files in `tla/` are rendered from it (a test
keeps them in step; `python -m paxiom.tlc.catalog` rewrites them), and the twin tests run the Python
explorer on the very same constants. Constants are small so that `make tlc` takes seconds, and each
variant has an unsafe quorum configuration in which TLC must find two values chosen.
"""

from __future__ import annotations

from paxiom.spec.quorums import Explicit, QuorumSystem, acceptor_names
from paxiom.tlc.models import TLA_DIR, TlcModel

VALUES = ("v1", "v2")
TWO = acceptor_names(2)
A1, A2 = (QuorumSystem(Explicit(TWO, [[a]]), Explicit(TWO, [[a]])) for a in TWO)
"""Reconfiguration's configurations: a1 alone, then a2 alone (disjoint: only the window keeps it safe)."""

MODELS: tuple[TlcModel, ...] = (
    TlcModel(
        "MCPaxos", "paxos", QuorumSystem.majority(3), VALUES, max_ballot=1,
        description="classic Paxos: majorities of 3, ballots 0..1",
    ),
    TlcModel(
        "MCFlexiblePaxos", "paxos", QuorumSystem.flexible(3, 3, 1), VALUES, max_ballot=1,
        description="Flexible Paxos: |Q1| = 3, |Q2| = 1 of 3 (phase-2 quorums need not meet)",
    ),
    TlcModel(
        "MCPaxosUnsafe", "paxos", QuorumSystem.flexible(3, 1, 2), VALUES, max_ballot=1, expect="agreement",
        description="|Q1| = 1, |Q2| = 2 of 3: a phase-1 quorum can miss a phase-2 quorum",
    ),
    TlcModel(
        "MCMultiPaxos", "multipaxos", QuorumSystem.majority(2), VALUES, max_ballot=1, slots=2,
        description="Multi-Paxos: 2 acceptors (quorum: both), 2 slots, ballots 0..1",
    ),
    TlcModel(
        "MCMultiPaxosUnsafe", "multipaxos", QuorumSystem(Explicit(TWO, [["a1"]]), Explicit(TWO, [["a2"]])), VALUES,
        max_ballot=1, slots=2, expect="agreement",
        description="Multi-Paxos whose phase-1 quorum {a1} misses its phase-2 quorum {a2}",
    ),
    TlcModel(
        "MCFastPaxos", "fastpaxos", QuorumSystem.fast_paxos(3, 2, 3), VALUES, max_ballot=1, fast_ballots=(0,),
        description="Fast Paxos: classic 2, fast 3 of 3; ballot 0 fast, ballot 1 classic",
    ),
    TlcModel(
        "MCFastPaxosUnsafe", "fastpaxos", QuorumSystem.fast_paxos(3, 2, 2), VALUES, max_ballot=1,
        fast_ballots=(0,), expect="agreement",
        description="Fast Paxos with fast quorums of 2 of 3: a classic and two fast quorums can miss",
    ),
    TlcModel(
        "MCReconfig", "reconfig", A1, ("v1",), max_ballot=1, slots=2, configs=(A2,),
        description="reconfiguration: cfg1 (a1 -> a2) chosen in slot i governs slots from i + 1; 2 slots, ballots 0..1",
    ),
    TlcModel(
        "MCReconfigEarly", "reconfig", A1, ("v1",), max_ballot=1, slots=2, alpha=2, configs=(A2,), bug="early",
        expect="agreement",
        description="reconfiguration applied as soon as it is chosen, before slot i + alpha (alpha = 2)",
    ),
    TlcModel(
        "MCReconfigMixed", "reconfig", A1, ("v1",), max_ballot=1, slots=2, configs=(A2,), bug="mixed",
        expect="agreement",
        description="reconfiguration whose leaders take a phase-1 quorum of either configuration",
    ),
    TlcModel(
        "MCCheap", "cheap", QuorumSystem.majority(3), ("v1",), max_ballot=1, slots=2, mains=2, retirable=1,
        description="Cheap Paxos: mains a1, a2, auxiliary a3; cfg1 retires a1 (alpha = 1); 2 slots, ballots 0..1",
    ),
    TlcModel(
        "MCCheapAuxQuorum", "cheap", QuorumSystem.majority(3), ("v1",), max_ballot=1, slots=2, mains=2, retirable=1,
        bug="aux-quorum", expect="agreement",
        description="Cheap Paxos whose retirement of a1 keeps the auxiliary: a3 alone is a quorum after it",
    ),
)
"""Checked in under tla/ and run by `paxiom tla check` (and so by `make test`)."""

SLOW_MODELS: tuple[TlcModel, ...] = (
    TlcModel(
        "MCFlexiblePaxos4", "paxos", QuorumSystem.flexible(4, 3, 2), VALUES, max_ballot=1,
        description="Flexible Paxos: |Q1| = 3, |Q2| = 2 of 4",
    ),
    TlcModel(
        "MCPaxosBallots3", "paxos", QuorumSystem.majority(3), VALUES, max_ballot=2,
        description="classic Paxos: majorities of 3, ballots 0..2 (the benchmark model)",
    ),
    TlcModel(
        "MCFastPaxosClassicFirst", "fastpaxos", QuorumSystem.fast_paxos(3, 2, 3), VALUES, max_ballot=2,
        fast_ballots=(1,),
        description="Fast Paxos, ballot 1 fast between classic 0 and 2: a value chosen at 0 and voted alone "
        "at fast ballot 1 must be proposed at 2 (a leader left free there breaks agreement in 17 steps)",
    ),
)
"""Bigger constants: only rendered on the fly, by the slow tests and the benchmark."""


def write_all() -> None:
    """Re-render every checked-in model into tla/."""
    for model in MODELS:
        model.write(TLA_DIR)


if __name__ == "__main__":
    write_all()
