"""`paxiom prove`: unbounded safety proofs of the Paxos family in Z3, and what breaks when you weaken them."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape
from rich.progress import Progress, TaskID
from rich.table import Table

from paxiom.cli.output import (
    FiniteFloat,
    console,
    emit_json,
    err_console,
    finish,
    json_option,
    output_path,
    user_errors,
)
from paxiom.cluster.config import Cluster, load_cluster
from paxiom.errors import PaxiomError
from paxiom.proofs import DEFAULT_TIMEOUT_S, variants

if TYPE_CHECKING:  # the prover and its models import Z3: only once a proof runs
    from paxiom.proofs.check import Obligation
    from paxiom.proofs.fol import TransitionSystem
    from paxiom.proofs.on_cluster import ClusterVerdict
    from paxiom.proofs.prover import ProofResult

MARK = {"proved": "[green]✓[/]", "failed": "[bold red]✗[/]", "unknown": "[yellow]?[/]"}
MAX_TIMEOUT_S = 86_400
"""A day per query: Z3 takes its timeout as 32-bit milliseconds, and no obligation here needs more."""
WIDEST_WITH_TIMES = 6
"""Obligation columns (init and the actions) beyond which the matrix shows verdicts only, to fit 80 columns."""


@click.command("prove")
@click.option(
    "--variant", "chosen", multiple=True, type=click.Choice(variants.NAMES), help="Variant(s) to prove (default: all)."
)
@click.option("--list", "list_only", is_flag=True, help="Name each variant's conjuncts, axioms and actions.")
@click.option("--drop", multiple=True, metavar="CONJUNCT", help="Remove a conjunct from the invariant.")
@click.option("--weaken", multiple=True, metavar="AXIOM", help="Swap a quorum axiom for a too-weak one.")
@click.option(
    "--bmc",
    "bmc_depth",
    type=click.IntRange(1, 40),
    metavar="DEPTH",
    help="Bounded model checking from the initial state, up to DEPTH steps, instead of the proof.",
)
@click.option(
    "--trace-out",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="With --bmc: write the violating run as a spec trace file (replay: paxiom explore --replay); "
    "missing parent folders are created.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    metavar="CLUSTER.toml",
    help="Also certify that this cluster's quorums satisfy the axioms the proof assumes.",
)
@click.option(
    "--timeout",
    "timeout_s",
    type=FiniteFloat(0.1, MAX_TIMEOUT_S),
    default=DEFAULT_TIMEOUT_S,
    show_default=True,
    help=f"Seconds allowed per Z3 query (at most {MAX_TIMEOUT_S:,}).",
)
@json_option
@user_errors
def prove(
    chosen: tuple[str, ...],
    list_only: bool,
    drop: tuple[str, ...],
    weaken: tuple[str, ...],
    bmc_depth: int | None,
    trace_out: Path | None,
    config_path: str | None,
    timeout_s: float,
    as_json: bool,
) -> None:
    """Prove agreement for any number of nodes, rounds and values: initiation, consecution for every
    action, and invariant => agreement, each obligation one Z3 query in the decidable EPR fragment.

    Exit 0 when every obligation is proved (or BMC finds no violation), 1 when one fails (a counterexample
    to induction, or a real violating run, is printed), 2 on bad input."""
    cluster = load_cluster(config_path) if config_path else None
    names = _select(chosen, drop, weaken, cluster)
    models = [variants.model(n) for n in names]
    if cluster is not None:
        from paxiom.proofs.on_cluster import axiom_conditions

        for name in names:
            axiom_conditions(name, cluster)  # a variant the file cannot describe is bad input, before any proof
    if list_only:
        _list(models, as_json)
        return
    if bmc_depth is not None:
        _bmc(models, drop, weaken, bmc_depth, timeout_s, trace_out, as_json)
        return
    if trace_out is not None:
        raise PaxiomError("--trace-out writes the run --bmc finds; add --bmc DEPTH")
    results = _prove_all(models, drop, weaken, timeout_s, as_json, cluster)
    docs: list[dict[str, Any]] = []
    for result, verdict in results:
        docs.append(result.to_json() | ({"cluster": verdict.to_json(result.title)} if verdict is not None else {}))
    holds = all(r.proved and (v is None or v.holds) for r, v in results)
    if as_json:
        emit_json(docs[0] if len(docs) == 1 else docs)
    finish(holds)


def _select(
    chosen: tuple[str, ...], drop: tuple[str, ...], weaken: tuple[str, ...], cluster: Cluster | None
) -> list[str]:
    """The variants to run. Without --variant: those a --drop/--weaken name applies to, or the ones a
    cluster file runs, or all of them."""
    if chosen:
        return list(dict.fromkeys(chosen))
    if cluster is not None:
        from paxiom.proofs.on_cluster import variants_for

        names = variants_for(cluster)
    else:
        names = list(variants.NAMES)
    if drop or weaken:
        from paxiom.proofs.prover import has_conjunct, has_weakenable_axiom

        fitting = [
            n
            for n in names
            if all(has_conjunct(variants.model(n), d) for d in drop)
            and all(has_weakenable_axiom(variants.model(n), w) for w in weaken)
        ]
        if not fitting:
            asked = ", ".join([*(f"--drop {d}" for d in drop), *(f"--weaken {w}" for w in weaken)])
            raise PaxiomError(f"no variant has everything named by {asked}; see `paxiom prove --list`")
        return fitting
    return names


def _prove_all(
    models: list[TransitionSystem],
    drop: tuple[str, ...],
    weaken: tuple[str, ...],
    timeout_s: float,
    as_json: bool,
    cluster: Cluster | None,
) -> list[tuple[ProofResult, ClusterVerdict | None]]:
    """Each proof, and with --config whether the file's quorums satisfy its axioms, decided before the
    headline is printed: a proof over quorums the file does not have must not read as PROVED."""
    from paxiom.proofs import prover
    from paxiom.proofs.on_cluster import certify

    results: list[tuple[ProofResult, ClusterVerdict | None]] = []
    with Progress(console=err_console, transient=True, disable=as_json) as bar:
        for ts in models:
            task = bar.add_task(f"proving {ts.variant}", total=None)
            tick = functools.partial(_tick, bar, task)
            result = prover.prove(ts, drop=drop, weaken=weaken, timeout_s=timeout_s, progress=tick)
            verdict = certify(ts, cluster, result.proved) if cluster is not None else None
            bar.remove_task(task)
            results.append((result, verdict))
            if not as_json:
                _show(result, verdict, cluster)
    return results


def _tick(bar: Progress, task: TaskID, _: Obligation) -> None:
    bar.advance(task)


def _show(result: ProofResult, on_cluster: ClusterVerdict | None = None, cluster: Cluster | None = None) -> None:
    """One matrix per variant: a row per conjunct, a column per obligation kind (initiation, each action),
    each cell the verdict and milliseconds; then the safety obligation and any counterexample; with
    --config, the sentence on the file's quorums."""
    verdict = "[bold green]PROVED[/]" if result.proved else "[bold red]NOT PROVED[/]"
    if result.proved and on_cluster is not None and cluster is not None and not on_cluster.holds:
        verdict = f"[bold red]NOT SAFE on {escape(cluster.path)}[/] (proved only for quorums meeting its axioms)"
    changes = [*(f"without {d}" for d in result.dropped), *(f"with {w} weakened" for w in result.weakened)]
    console.print(
        f"\n[bold]{result.variant}[/] — {result.title}{' (' + ', '.join(changes) + ')' if changes else ''}: "
        f"{verdict}, {len(result.obligations)} obligations in {result.seconds:.2f} s"
    )
    steps = [ob for ob in result.obligations if ob.kind != "safety"]
    columns = list(dict.fromkeys(_column(ob.name) for ob in steps))
    table = Table(show_edge=False, pad_edge=False, box=None)
    table.add_column("conjunct \\ action" + ("" if len(columns) > WIDEST_WITH_TIMES else " (ms)"), no_wrap=True)
    for col in columns:
        table.add_column(col, justify="right", no_wrap=True)
    wide = len(columns) > WIDEST_WITH_TIMES
    rows: dict[str, dict[str, str]] = {}
    for ob in steps:
        rows.setdefault(ob.conjunct, {})[_column(ob.name)] = MARK[ob.status] if wide else _cell(ob.status, ob.seconds)
    for conj, cells in rows.items():
        table.add_row(conj, *(cells.get(c, "") for c in columns))
    console.print(table)
    if wide:
        slowest = max(steps, key=lambda ob: ob.seconds)
        console.print(f"(times in --json; slowest: {slowest.name} {_cell(slowest.status, slowest.seconds)} ms)")
    for ob in result.obligations:
        if ob.kind == "safety":
            console.print(f"invariant ⇒ {ob.conjunct}  {_cell(ob.status, ob.seconds)}")
        if ob.reason:
            console.print(f"[yellow]{ob.status}:[/] {ob.name} ({ob.reason})")
    if result.cti is not None:
        console.print()
        for line in result.cti.lines():
            console.print(line, markup=False, highlight=False, soft_wrap=True)
    if on_cluster is not None:
        console.print(on_cluster.sentence(result.title), soft_wrap=True)


def _cell(status: str, seconds: float) -> str:
    return f"{MARK[status]} {seconds * 1000:.0f}" if seconds < 10 else f"{MARK[status]} {seconds:.0f}s"


def _column(name: str) -> str:
    kind, *rest = name.split("/")
    return "init" if kind == "initiation" else rest[0].removeprefix("Phase") if kind == "consecution" else kind


def _list(models: list[TransitionSystem], as_json: bool) -> None:
    docs = [
        {
            "variant": ts.variant,
            "title": ts.title,
            "sorts": list(ts.sorts),
            "relations": {r.name: {"sorts": list(r.sorts), "doc": r.doc} for r in ts.relations},
            "axioms": [
                {"name": a.name, "doc": a.doc, "weakenable": a.weakened is not None, "weakened": a.weakened_doc}
                for a in ts.axioms
            ],
            "actions": [{"name": a.name, "params": dict(a.params), "doc": a.doc} for a in ts.actions],
            "conjuncts": [{"name": c.name, "doc": c.doc} for c in ts.conjuncts],
            "safety": {"name": ts.safety.name, "doc": ts.safety.doc},
        }
        for ts in models
    ]
    if as_json:
        emit_json(docs[0] if len(docs) == 1 else docs)
        return
    for ts in models:
        console.print(f"\n[bold]{ts.variant}[/] — {ts.title}")
        console.print("  sorts       " + ", ".join(ts.sorts))
        console.print("  state       " + ", ".join(f"{r.name}({', '.join(r.sorts)})" for r in ts.relations))
        console.print("  axioms")
        for a in ts.axioms:
            weak = f"  [dim](--weaken {a.name}: {a.weakened_doc})[/]" if a.weakened is not None else ""
            console.print(f"    {a.name:<24} {a.doc}{weak}", soft_wrap=True)
        console.print("  actions")
        for act in ts.actions:
            sig = f"{act.name}({', '.join(p for p, _ in act.params)})"
            console.print(f"    {sig:<36} {act.doc}", soft_wrap=True)
        console.print("  invariant conjuncts (--drop NAME)")
        for c in ts.conjuncts:
            console.print(f"    {c.name:<24} {c.doc}", soft_wrap=True)
        console.print(f"  safety      {ts.safety.name}: {ts.safety.doc}")


def _bmc(
    models: list[TransitionSystem],
    drop: tuple[str, ...],
    weaken: tuple[str, ...],
    depth: int,
    timeout_s: float,
    trace_out: Path | None,
    as_json: bool,
) -> None:
    from paxiom.proofs import prover
    from paxiom.proofs.bmc import bmc
    from paxiom.proofs.spec_trace import trace_document

    if trace_out is not None and len(models) != 1:
        raise PaxiomError("--trace-out needs exactly one --variant")
    docs = []
    violated = False
    for ts in models:
        varied = prover.variation(ts, (), weaken)
        with Progress(console=err_console, transient=True, disable=as_json) as bar:
            bar.add_task(f"bounded model checking {ts.variant} to depth {depth}", total=None)
            result = bmc(varied, depth, timeout_s=max(timeout_s, 120.0))
        violated = violated or result.status == "violated"
        if result.run is not None and trace_out is not None:
            output_path(trace_out).write_text(json.dumps(trace_document(result.run), indent=2) + "\n")
        docs.append(
            {
                "variant": ts.variant,
                "weakened": list(weaken),
                "depth": result.depth,
                "status": result.status,
                "seconds": round(result.seconds, 4),
                "run": None if result.run is None else result.run.to_json(),
            }
        )
        if as_json:
            continue
        if result.run is not None:
            console.print()
            for line in result.run.lines():
                console.print(line, markup=False, highlight=False, soft_wrap=True)
            if trace_out is not None:
                console.print(f"  written to {trace_out}; replay it in the spec: paxiom explore --replay {trace_out}")
        elif result.status == "unknown":
            console.print(f"{ts.variant}: Z3 could not decide depth {result.depth} ([yellow]unknown[/])")
        else:
            console.print(
                f"{ts.variant}: no execution of up to {depth} steps breaks {ts.safety.name} ({result.seconds:.2f} s)"
            )
    if drop:
        err_console.print("note: --drop changes the invariant, which bounded model checking does not use")
    if as_json:
        emit_json(docs[0] if len(docs) == 1 else docs)
    finish(not violated and all(d["status"] != "unknown" for d in docs))
