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

section "Certify a membership change before proposing it: 3 nodes growing to 5 with quorums that miss each other" \
  "paxiom quorum check --transition examples/quorums/transitions/three.toml examples/quorums/transitions/grow-five-unsafe.toml"
expect 1 $PAXIOM quorum check --transition examples/quorums/transitions/three.toml examples/quorums/transitions/grow-five-unsafe.toml

section "The rest of the family in the same core, each judged by its own spec: Fast Paxos (clients straight to acceptors), Cheap Paxos (2 mains + 1 auxiliary retiring a failed main), reconfiguration through the log" \
  "paxiom sim --variant fastpaxos|cheap|reconfig --seed 7 --steps 3000"
expect 0 $PAXIOM sim --variant fastpaxos --replicas 5 --seed 7 --steps 3000
expect 0 $PAXIOM sim --variant cheap --replicas 3 --seed 7 --steps 3000
expect 0 $PAXIOM sim --variant reconfig --replicas 5 --seed 7 --steps 3000

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

# ---- The service: a real 3-node cluster survives its leader's SIGKILL (bounded waits; always stopped) ----
PY=.venv/bin/python
CLUSTER_DIR=out/demo-cluster
CLUSTER=$CLUSTER_DIR/cluster.toml
CLUSTER_PID=
stop_cluster() {
  if [ -n "$CLUSTER_PID" ]; then kill -INT "$CLUSTER_PID" 2>/dev/null; wait "$CLUSTER_PID" 2>/dev/null; CLUSTER_PID=; fi
}
trap stop_cluster EXIT
# Poll a command (at most $1 times, 0.5 s apart) until it succeeds.
until_ok() {
  local tries=$1; shift
  for _ in $(seq "$tries"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  echo "demo: gave up waiting for: $*" >&2; exit 1
}
json_field() { $PY -c "import json,sys; print(eval(sys.argv[2], {}, {'d': json.load(open(sys.argv[1]))}))" "$@"; }
json_check() { $PY -c "import json,sys; sys.exit(not eval(sys.argv[2], {}, {'d': json.load(open(sys.argv[1]))}))" "$@"; }

rm -rf "$CLUSTER_DIR" out/demo-trace; mkdir -p out
section "The service: a local 3-node cluster (mutual TLS, group-committed WAL with fdatasync, one process per node)" \
  "paxiom cluster up -n 3 --dir $CLUSTER_DIR --trace out/demo-trace"
$PAXIOM cluster up -n 3 --dir "$CLUSTER_DIR" --trace out/demo-trace --json > out/cluster-up.json 2> out/cluster-up.log &
CLUSTER_PID=$!
until_ok 120 json_check out/cluster-up.json "d['ready']"
$PAXIOM cluster status --cluster "$CLUSTER"

section "Writes and reads (linearizable: every read goes through the log)" \
  "paxiom kv put greeting hello; kv cas counter 1 --absent; kv cas counter 2 --expect 1; kv get; kv list"
expect 0 $PAXIOM kv put greeting hello --cluster "$CLUSTER"
expect 0 $PAXIOM kv cas counter 1 --absent --cluster "$CLUSTER"
expect 0 $PAXIOM kv cas counter 2 --expect 1 --cluster "$CLUSTER"
expect 1 $PAXIOM kv cas counter 3 --expect 1 --cluster "$CLUSTER"
expect 0 $PAXIOM kv get greeting --cluster "$CLUSTER"
expect 0 $PAXIOM kv list --cluster "$CLUSTER"

$PAXIOM cluster status --cluster "$CLUSTER" --json > out/status.json
LEADER=$(json_field out/status.json "d['leader']")
LEADER_PID=$(json_field "$CLUSTER_DIR/pids.json" "d['$LEADER']")
section "Kill the leader with SIGKILL: the others elect a new one and the service continues" \
  "kill -9 $LEADER_PID   # $LEADER; then paxiom kv put after-failover yes; kv get greeting"
kill -9 "$LEADER_PID"
expect 0 $PAXIOM kv put after-failover yes --cluster "$CLUSTER"
expect 0 $PAXIOM kv get greeting --cluster "$CLUSTER"

section "The supervisor restarts $LEADER on its data directory; it catches up (lag 0)" \
  "paxiom cluster status --cluster $CLUSTER"
until_ok 60 $PAXIOM cluster status --cluster "$CLUSTER"
caught_up() {
  $PAXIOM cluster status --cluster "$CLUSTER" --json > out/status.json &&
    json_check out/status.json "d['nodes']['$LEADER'].get('lag') == 0 and d['nodes']['$LEADER']['incarnation'] == 1"
}
until_ok 60 caught_up
grep -h "exited with status" out/cluster-up.log
$PAXIOM cluster status --cluster "$CLUSTER"
expect 0 $PAXIOM kv get after-failover --cluster "$CLUSTER"

METRICS_URL=http://$($PY -c "import sys, tomllib; print(tomllib.load(open(sys.argv[1], 'rb'))['service']['metrics'][sys.argv[2]])" "$CLUSTER" "$LEADER")/metrics
section "A Prometheus metrics line from $LEADER" "curl $METRICS_URL | grep paxiom_sync_latency_seconds_count"
$PY -c "import sys, urllib.request; print(*[l for l in urllib.request.urlopen(sys.argv[1], timeout=5).read().decode().splitlines() if l.startswith(('paxiom_sync_latency_seconds_count', 'paxiom_commit_index'))], sep='\n')" "$METRICS_URL"
stop_cluster

section "The spec judges the real run: the nodes' traces merged in causal order, every step matched to spec actions" \
  "paxiom trace check out/demo-trace"
expect 0 $PAXIOM trace check out/demo-trace

# ---- Cheap Paxos as processes: 2 mains + 1 auxiliary lose a main and carry on (bounded waits; always stopped) ----
CHEAP_DIR=out/demo-cheap
CHEAP=$CHEAP_DIR/cluster.toml
rm -rf "$CHEAP_DIR" out/demo-cheap-trace; mkdir -p out
section "Cheap Paxos: 2 mains and 1 auxiliary, n3, a process that votes only to retire a failed main and stores no log" \
  "paxiom cluster up --mains 2 --auxiliaries 1 --no-restart --dir $CHEAP_DIR --trace out/demo-cheap-trace"
$PAXIOM cluster up --mains 2 --auxiliaries 1 --no-restart --dir "$CHEAP_DIR" --trace out/demo-cheap-trace --json \
  > out/cheap-up.json 2> out/cheap-up.log &
CLUSTER_PID=$!
until_ok 120 json_check out/cheap-up.json "d['ready']"
expect 0 $PAXIOM kv put before-failure yes --cluster "$CHEAP"
MAIN=$(json_field out/cheap-up.json "'n2' if d['leader'] == 'n1' else 'n1'")
MAIN_PID=$(json_field "$CHEAP_DIR/pids.json" "d['$MAIN']")
section "Kill the main that does not lead: the leader retires it through the auxiliary, then decides alone (a get goes through the log too)" \
  "kill -9 $MAIN_PID   # $MAIN; then paxiom kv get before-failure; cluster status"
kill -9 "$MAIN_PID"
expect 0 $PAXIOM kv get before-failure --cluster "$CHEAP"
expect 1 $PAXIOM cluster status --cluster "$CHEAP"  # exit 1: $MAIN is down for good
stop_cluster

section "The Cheap Paxos spec judges that run: the Start records name n3 as the auxiliary" \
  "paxiom trace check out/demo-cheap-trace"
expect 0 $PAXIOM trace check out/demo-cheap-trace
