"""The Python explorer against TLC on the same models, side by side, in one run.

    .venv/bin/python bench/explorer_vs_tlc.py [--repeat 2] [--workers 2] [--multi 2,2,1] [--json]

Models: single-decree Paxos, 3 acceptors (majority quorums), values v1 and v2, ballots 0..2 (`tla/Paxos.tla`
and `spec/paxos.py`), and Multi-Paxos with `--multi acceptors,slots,max_ballot` (default 2,2,1: the
constants of `tla/MCMultiPaxos.cfg`). Every invariant and step property is checked in every state by both.
Three rows per model and repeat:

- plain: TLC with `--workers` threads against the explorer in one process;
- parallel: the same TLC run against the explorer with `--workers` processes (each owning a shard of the
  visited set);
- symmetric: TLC with `SYMMETRY` (every renaming of acceptors and of values, composed: the whole group,
  model values for names) against `--symmetry` in one process. Both keep one state per orbit:
  TLC the renamed copy with the smallest fingerprint, the explorer the one with the smallest score; both
  counts are the number of orbits, and the run stops if they differ.

TLC's time is wall time from launching Java to its exit, JVM start-up included, as a user experiences it.
Plain and parallel counts must equal TLC's or the run stops: a benchmark of two models that disagree would
mean nothing. The machines are shared, so each row carries the 1-minute load average when it finished and
the CPU seconds of each side (the explorer's workers and TLC's JVM included), which other jobs inflate less
than wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from paxiom.explorer import default_workers, explore
from paxiom.spec.quorums import QuorumSystem
from paxiom.tlc.models import STEP_PROPERTIES, TLA_DIR, TlcModel, read_sources
from paxiom.tlc.runner import TlcRun, run_tlc

T = TypeVar("T")


def timed(work: Callable[[], T]) -> tuple[T, float, float]:
    """`work()`, its wall seconds, and the CPU seconds of this process and of children it waited for."""

    def cpu() -> float:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + children.ru_utime + children.ru_stime

    started, cpu_started = time.perf_counter(), cpu()
    result = work()
    return result, time.perf_counter() - started, cpu() - cpu_started


def symmetric_module(model: TlcModel) -> tuple[str, str]:
    """The model's TLC module and config with acceptors and values as model values and SYMMETRY the group
    of all their renamings (majority quorums, so every renaming of acceptors keeps them)."""
    names = [f"a{i + 1}" for i in range(model.quorums.n)]
    lines = [
        f"---- MODULE {model.name}Sym ----",
        f"EXTENDS {model.base}, TLC",
        f"CONSTANTS {', '.join(names + list(model.values))}",
        "MCAcceptors == {" + ", ".join(names) + "}",
        "MCValues == {" + ", ".join(model.values) + "}",
        "MCQuorum == {Q \\in SUBSET MCAcceptors : 2 * Cardinality(Q) > Cardinality(MCAcceptors)}",
        f"MCSlots == 0..{model.slots - 1}",
        "MCSymmetry == {p @@ q : p \\in Permutations(MCAcceptors), q \\in Permutations(MCValues)}",
        "=" * 40,
    ]
    slots = ["  Slots <- MCSlots"] if model.variant == "multipaxos" else []
    cfg = [
        "CONSTANTS",
        "  None = None",
        *(f"  {c} = {c}" for c in names + list(model.values)),
        f"  MaxBallot = {model.max_ballot}",
        "  Acceptors <- MCAcceptors",
        "  Values <- MCValues",
        "  Quorum1 <- MCQuorum",
        "  Quorum2 <- MCQuorum",
        *slots,
        "INIT Init",
        "NEXT Next",
        "SYMMETRY MCSymmetry",
        "INVARIANTS " + " ".join(model.state_invariants),
        "PROPERTIES " + " ".join(STEP_PROPERTIES),
    ]
    return "\n".join(lines) + "\n", "\n".join(cfg) + "\n"


def tlc(model: TlcModel, workers: int, symmetric: bool) -> tuple[TlcRun, float]:
    """TLC's run and its CPU seconds."""
    sources = {**read_sources(TLA_DIR), model.name: model.module_text()}
    if not symmetric:
        run, _, cpu = timed(lambda: run_tlc(sources, model.name, model.cfg_text(), workers=workers))
        return run, cpu
    module, cfg = symmetric_module(model)
    sym = {**sources, f"{model.name}Sym": module}
    run, _, cpu = timed(lambda: run_tlc(sym, f"{model.name}Sym", cfg, workers=workers))
    return run, cpu


def row(label: str, model: TlcModel, tlc_run: tuple[TlcRun, float], workers: int, symmetric: bool) -> dict[str, Any]:
    m = model.python_model()
    peer, peer_cpu = tlc_run
    py, seconds, cpu = timed(lambda: explore(m, workers=workers, symmetry=symmetric))
    if peer.distinct_states != py.distinct_states or not peer.holds or py.violation is not None:
        raise SystemExit(f"{label}: TLC {peer.distinct_states} states, explorer {py.distinct_states}")
    return {
        "model": model.description,
        "row": label,
        "distinct_states": py.distinct_states,
        "counted": "orbits" if symmetric else "states",
        "tlc_seconds": round(peer.seconds, 2),
        "tlc_cpu_seconds": round(peer_cpu, 2),
        "explorer_workers": workers,
        "explorer_seconds": round(seconds, 2),
        "explorer_cpu_seconds": round(cpu, 2),
        "explorer_speedup": round(peer.seconds / seconds, 2),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def measure(model: TlcModel, workers: int) -> Iterator[dict[str, Any]]:
    """The three rows of one model, each yielded as soon as it is measured."""
    plain = tlc(model, workers, symmetric=False)
    yield row("plain", model, plain, 1, False)
    yield row("parallel", model, plain, workers, False)
    yield row("symmetric", model, tlc(model, workers, symmetric=True), 1, True)


def models(multi: tuple[int, int, int]) -> list[TlcModel]:
    n, slots, ballot = multi
    return [
        TlcModel(
            "MCBench",
            "paxos",
            QuorumSystem.majority(3),
            ("v1", "v2"),
            max_ballot=2,
            description="Paxos, majorities of 3, 2 values, ballots 0..2",
        ),
        TlcModel(
            "MCBenchMulti",
            "multipaxos",
            QuorumSystem.majority(n),
            ("v1", "v2"),
            max_ballot=ballot,
            slots=slots,
            description=f"Multi-Paxos, majorities of {n}, 2 values, {slots} slots, ballots 0..{ballot}",
        ),
    ]


def show(r: dict[str, Any]) -> None:
    print(
        f"{r['model']:<62}{r['row']:<11}{r['distinct_states']:>9,} {r['counted']:<6}{r['tlc_seconds']:>8.2f}"
        f"{r['explorer_seconds']:>8.2f}{r['explorer_workers']:>4}{r['explorer_speedup']:>6.2f}x"
        f"{r['load_average_1min']:>6.1f}{r['tlc_cpu_seconds']:>8.1f}{r['explorer_cpu_seconds']:>8.1f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--multi", default="2,2,1", help="Multi-Paxos acceptors,slots,max_ballot")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    n, slots, ballot = (int(x) for x in args.multi.split(","))
    if not args.json:
        print(f"TLC with {args.workers} workers; ratio = TLC wall time / explorer wall time (above 1: explorer faster)")
        print(
            f"{'model':<62}{'row':<11}{'counted':>16}{'TLC s':>8}{'expl s':>8}{'wk':>4}{'ratio':>7}{'load':>6}"
            f"{'TLC cpu':>8}{'ex cpu':>8}"
        )
    rows = []
    for _ in range(args.repeat):
        for model in models((n, slots, ballot)):
            for r in measure(model, args.workers):
                rows.append(r)
                if not args.json:
                    show(r)
    if args.json:
        print(json.dumps({"tlc_workers": args.workers, "rows": rows}, indent=2))
        return
    for model in models((n, slots, ballot)):
        for label in ("plain", "parallel", "symmetric"):
            ratios = [r["explorer_speedup"] for r in rows if r["row"] == label and r["model"] == model.description]
            print(f"median {label} ratio, {model.description}: {statistics.median(ratios):.2f}x ({len(ratios)} runs)")


if __name__ == "__main__":
    main()
