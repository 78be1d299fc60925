"""Fast Flexible Paxos (Howard et al.) as a first-order transition system.

The Fast Paxos model of `fastpaxos.py` with three quorum sorts: phase-1 quorums (`quorum1`, heard by
Phase2a), classic phase-2 quorums (`quorum2`, choosing at classic rounds) and fast quorums (choosing at
fast rounds). The only quorum axioms are `phase1_meets_phase2` and `phase1_meets_two_fast`; two phase-1
quorums, or two classic phase-2 quorums, may be disjoint. It parallels `paxiom.spec.fastpaxos` run with
a flexible `QuorumSystem`, with the abstractions and the recovery rule stated in `fastpaxos.py`.
"""

from paxiom.proofs.fastpaxos import build

MODEL = build("fast-flexible", "Fast Flexible Paxos", flexible=True)
