"""Cheap Paxos in the implementation (`spec/cheap.py`, docs/cheap.md section 4), on the core's reconfiguration.

- `replica.CheapReplica` — the Multi-Paxos replica whose leader suspects a main that leaves its Accepts
  unanswered, and then commits the spec's retirement of that main with the auxiliaries' votes; whose
  auxiliaries refuse any vote but a configuration command, and never lead.
- `mutants` — Cheap Paxos bugs as overrides, for the mutant catalogue (`impl.mutants`).
"""
