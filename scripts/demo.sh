#!/usr/bin/env bash
# `make demo`: the main jobs end to end, each section printing what a user would see.
set -uo pipefail
cd "$(dirname "$0")/.."
PAXIOM=.venv/bin/paxiom

section() { printf '\n\033[1m== %s ==\033[0m\n$ %s\n' "$1" "$2"; }

# Run a command that is expected to exit with a given code; the demo fails loudly otherwise.
expect() {
  local want=$1; shift
  "$@"; local got=$?
  if [ "$got" -ne "$want" ]; then echo "demo: expected exit $want from '$*', got $got" >&2; exit 1; fi
}

section "The explorer proves single-decree Paxos safe on a small model (3 acceptors, 2 values, ballots 0..1)" \
  "paxiom explore --acceptors 3 --values 2 --max-ballot 1"
expect 0 $PAXIOM explore --acceptors 3 --values 2 --max-ballot 1

section "Flexible Paxos with |Q1| + |Q2| <= n: the shortest run in which two values are chosen" \
  "paxiom explore --acceptors 3 --max-ballot 1 --q1 1 --q2 2 --invariant agreement"
expect 1 $PAXIOM explore --acceptors 3 --max-ballot 1 --q1 1 --q2 2 --invariant agreement

section "TLC on the TLA+ twin of the same configuration finds two values chosen too, as the model expects" \
  "paxiom tla check tla/MCPaxosUnsafe.cfg"
expect 1 $PAXIOM tla check tla/MCPaxosUnsafe.cfg

section "Unbounded proof: Paxos is safe for any number of nodes, rounds and values (Z3, EPR)" \
  "paxiom prove --variant paxos"
expect 0 $PAXIOM prove --variant paxos

section "Weaken the quorum axiom: the counterexample to induction, shrunk to two nodes and three rounds" \
  "paxiom prove --variant paxos --weaken quorum-intersection"
expect 1 $PAXIOM prove --variant paxos --weaken quorum-intersection

section "Certify a 3-data-centre cluster file with Z3: safe, its fault tolerance, latency and load" \
  "paxiom quorum check examples/quorums/three-dc.toml"
expect 0 $PAXIOM quorum check examples/quorums/three-dc.toml

section "A two-DC file where either DC decides alone: the smallest violating quorums and a replayed spec run" \
  "paxiom quorum check examples/quorums/two-dc-unsafe.toml --trace-out out/two-dc-run.json"
mkdir -p out
expect 1 $PAXIOM quorum check examples/quorums/two-dc-unsafe.toml --trace-out out/two-dc-run.json

section "The run replays through the explorer: agreement fails at its last step" \
  "paxiom explore --replay out/two-dc-run.json --invariant agreement"
expect 1 $PAXIOM explore --replay out/two-dc-run.json --invariant agreement

section "Simulate 5 Multi-Paxos replicas under loss, duplication, reordering, partitions, crashes and corruption; the spec judges every step" \
  "paxiom sim --replicas 5 --seed 7 --steps 3000"
expect 0 $PAXIOM sim --replicas 5 --seed 7 --steps 3000

section "Inject a bug real systems shipped (promise not persisted before replying): caught, shrunk, replayable" \
  "paxiom sim --mutant promise-not-persisted --trace-out out/mutant-trace.json"
mkdir -p out
expect 1 $PAXIOM sim --mutant promise-not-persisted --trace-out out/mutant-trace.json

section "The shrunk schedule replays exactly" "paxiom sim --replay out/mutant-trace.json"
expect 1 $PAXIOM sim --replay out/mutant-trace.json

section "Conformance: a Node.js acceptor, tested out of process against the spec (kill -9 and restart included)" \
  "paxiom conform --role acceptor --max-examples 8 -- node examples/conformance/acceptor.js"
expect 0 $PAXIOM conform --role acceptor --max-examples 8 --out out/conform -- node examples/conformance/acceptor.js

section "Conformance: the core's proposer with a bug (proposes its own value over a reported vote): shrunk schedule" \
  "paxiom conform --adapter examples/conformance/paxiom_core.py:Core --role proposer --option mutant=propose-own-value"
expect 1 $PAXIOM conform --adapter examples/conformance/paxiom_core.py:Core --role proposer \
  --option mutant=propose-own-value --max-findings 1 --out out/conform
