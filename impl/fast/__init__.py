"""Fast Paxos in the implementation: fast ballots in which clients' commands go straight to acceptors.

- `replica.FastReplica` — the Multi-Paxos replica (`impl.replica`) with fast ballots, collision detection
  and the recovery rule of `spec/fastpaxos.py`, run by the same host driver (`impl.host`).
- `oracle.FastRefinementOracle` — the refinement oracle judging every slot against `spec/fastpaxos.py`.
- `mutants` — Fast Paxos bugs as overrides, for the mutant catalogue (`impl.mutants`).
"""
