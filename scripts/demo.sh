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
