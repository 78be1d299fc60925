"""Multi-Paxos as a first-order transition system: single-decree Paxos once per slot, one phase 1 for all.

Parallels `paxiom.spec.multipaxos`: one promise per acceptor covers every slot, so `one_a`, `one_b` and
`left_round` are as in `paxos.py`, while `proposal(i, b, v)` and `vote(a, i, b, v)` carry the slot, and
Phase2a(b, slot, v) applies the highest-vote rule to that slot alone. Slots form an unbounded uninterpreted sort,
so the proof covers logs of any length. Agreement is per slot. Like the spec, it is flexible: phase-1
and phase-2 quorums are separate sorts and only `phase1_meets_phase2` is assumed. The abstractions are
those of `paxos.py`: the per-slot reports of a 1b are read from the acceptor's frozen votes below b.
"""

from paxiom.proofs.paxos import build

MODEL = build("multipaxos", "Multi-Paxos", flexible=True, slots=True)
