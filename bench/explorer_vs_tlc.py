"""The Python explorer against TLC on the same model, side by side, in one run.

    .venv/bin/python bench/explorer_vs_tlc.py [--max-ballot 2] [--workers 2] [--json]

Model: single-decree Paxos, 3 acceptors (majority quorums), values v1 and v2, ballots 0..max-ballot
(`tla/Paxos.tla` and `spec/paxos.py`). Two rows per tool: checking every invariant and step property in
every state (as `paxiom tla check` and `paxiom explore` do), and exploring alone (no invariants). TLC's
time is wall time from launching Java to its exit, JVM start-up included, as a user experiences it; TLC
runs with `--workers` threads, the explorer in one process. Both must reach the same number of distinct
states, or the run stops: a benchmark of two models that disagree would mean nothing. The machine's load
average is printed too, because these machines are shared.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from paxiom.explorer import Result, explore
from paxiom.spec.quorums import QuorumSystem
from paxiom.tlc.models import TLA_DIR, TlcModel, read_sources
from paxiom.tlc.runner import default_workers, run_tlc


def measure(model: TlcModel, *, invariants: bool, workers: int) -> dict[str, Any]:
    sources = {**read_sources(TLA_DIR), model.name: model.module_text()}
    tlc = run_tlc(sources, model.name, model.cfg_text(None if invariants else ()), workers=workers)
    started = time.perf_counter()
    py: Result[Any] = explore(model.python_model(), only=None if invariants else ())
    py_seconds = time.perf_counter() - started
    if tlc.distinct_states != py.distinct_states or not tlc.holds or py.violation is not None:
        raise SystemExit(f"the twins disagree: TLC {tlc.distinct_states} states, explorer {py.distinct_states}")
    return {
        "checking": "every invariant" if invariants else "nothing (exploration only)",
        "distinct_states": py.distinct_states,
        "tlc_seconds": round(tlc.seconds, 2),
        "tlc_states_per_second": round(tlc.states_per_second),
        "explorer_seconds": round(py_seconds, 2),
        "explorer_states_per_second": round(py.distinct_states / py_seconds),
        "explorer_speedup": round(tlc.seconds / py_seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-ballot", type=int, default=2)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    model = TlcModel(
        "MCBench", "paxos", QuorumSystem.majority(3), ("v1", "v2"), max_ballot=args.max_ballot,
        description=f"Paxos, majorities of 3, 2 values, ballots 0..{args.max_ballot}",
    )
    rows = [measure(model, invariants=flag, workers=args.workers) for flag in (True, False)]
    doc = {
        "model": model.description,
        "tlc_workers": args.workers,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "rows": rows,
    }
    if args.json:
        print(json.dumps(doc, indent=2))
        return
    print(f"{doc['model']}; TLC with {args.workers} workers; load average {doc['load_average_1min']}")
    header = f"{'checking':<28}{'states':>9}{'TLC s':>9}{'TLC st/s':>10}{'explorer s':>12}{'expl st/s':>11}{'ratio':>8}"
    print(header)
    for r in rows:
        print(
            f"{r['checking']:<28}{r['distinct_states']:>9,}{r['tlc_seconds']:>9.2f}{r['tlc_states_per_second']:>10,}"
            f"{r['explorer_seconds']:>12.2f}{r['explorer_states_per_second']:>11,}{r['explorer_speedup']:>7.2f}x"
        )
    print("ratio = TLC wall time / explorer wall time (above 1: the explorer is faster)")


if __name__ == "__main__":
    main()
