"""The Multi-Paxos implementation: a sans-IO replica core, and the simulator that tests it against the spec.

- `replica.Replica` — acceptor (`acceptor`), learner (`learner`) and possible leader (`proposer`) in one
  deterministic object: inputs are ticks, messages and client commands (`values.Command`); output is a
  `storage.Ready` whose durable writes must be made before its messages are sent and its committed
  entries applied. The core decides; the host applies.
- `host.Host` — the one driver of a replica (persist → sync → send → apply → reply) over a pluggable
  storage, for the simulator and the server; `observe` — the typed records it reports, as JSON lines.
- `statemachine.StateMachine` — what the log is applied to; `kv.KeyValueStore` ships for tests and demos.
- `sim` — the deterministic cluster simulator, its fault schedules, hypothesis rules and shrinker.
- `oracle.RefinementOracle` — maps every simulated step onto `paxiom.spec.multipaxos` and objects to
  anything the spec does not allow.
- `mutants` — the catalogue of injectable real-world bugs that proves the oracle has teeth.
- `fast` — Fast Paxos: the replica with fast ballots and collision recovery, and its oracle over
  `paxiom.spec.fastpaxos` (`docs/fastpaxos.md`).
- `cheap` — Cheap Paxos: the replica whose leader retires a failed main with the auxiliaries' votes, and
  whose auxiliaries vote only for that and store no log (`docs/cheap.md`).
"""
