"""Flexible Paxos (Howard, Malkhi, Spiegelman 2016) as a first-order transition system.

The model of `paxos.py` with two quorum sorts: `quorum1` (phase 1: the quorum a Phase2a waits for) and
`quorum2` (phase 2: the quorum whose votes choose a value). The only quorum axiom is
`phase1_meets_phase2`; two phase-1 quorums, or two phase-2 quorums, may be disjoint. It parallels
`paxiom.spec.paxos` run with `QuorumSystem.flexible(...)`, with the abstractions listed in `paxos.py`.
"""

from paxiom.proofs.paxos import build

MODEL = build("flexible", "Flexible Paxos", flexible=True, slots=False)
