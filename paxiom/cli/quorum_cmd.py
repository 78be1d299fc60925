"""`paxiom quorum`: certify a cluster file's quorums with Z3, and show what a failure means as a spec run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from paxiom.cli.output import console, emit_json, err_console, finish, json_option, user_errors
from paxiom.cluster.certify import Z3, Outcome
from paxiom.cluster.check import Report, check, variants
from paxiom.cluster.config import load_cluster
from paxiom.cluster.runs import Run
from paxiom.errors import PaxiomError

GRAMMAR = """\
A cluster file is TOML:

\b
  description = "..."  # optional, shown in reports
  nodes = ["a1", "a2", "a3", "b1", "b2", "b3", "c1", "c2", "c3"]
  [zones]              # optional named groups; a zone may list zones
  dc1 = ["a1", "a2", "a3"]
  dc2 = ["b1", "b2", "b3"]
  dc3 = ["c1", "c2", "c3"]
  [weights]            # optional, positive integers up to 10^18, default 1
  a1 = 2
  [quorums]
  phase1 = "2 of (majority(dc1), majority(dc2), majority(dc3))"
  phase2 = "..."       # optional, defaults to phase1
  fast = "..."         # optional: Fast Paxos fast quorums
  [latency_ms]         # optional round-trip times, node or zone keys
  dc1 = { dc1 = 0.5, dc2 = 12, dc3 = 70 }

Quorum expressions (monotone threshold formulas, nested up to 100 deep):

\b
  expr := NODE
        | all(args)          every argument
        | any(args)          at least one argument
        | majority(args)     more than half of the arguments' total weight
        | K of (args)        arguments of total weight at least K
  args := arg, arg, ...      arg is an expr or a ZONE (stands for its nodes)

A node inside a gate weighs its [weights] entry, a sub-expression weighs 1. Explicit quorum lists are
any(all(a1, a2), all(b1, b3)); a 3x3 grid's rows are any(all(row1), all(row2), all(row3)). Every mistake
(unknown node, a zone naming itself, K above the total weight, an empty family, a syntax error) is
reported at file:line:col with exit code 2.
"""


@click.group(help=f"Quorum configurations: certify intersection with Z3, fault tolerance, latency, load.\n\n{GRAMMAR}")
def quorum() -> None:
    pass


@quorum.command(
    "check",
    help="Decide every intersection condition FILE needs (exactly on read-once trees of two families, else "
    "with Z3); on failure show the smallest violating "
    "quorums and a replayed spec run choosing two values; on success the fault tolerance.\n\n"
    "With --transition OLD NEW (and no FILE): whether changing OLD's configuration to NEW's is safe under "
    "the α-window reconfiguration protocol (spec/reconfig.py); node names match across the files.\n\n"
    "Exit 0 when safe for the protocol the file declares (Fast Paxos if it has fast quorums), 1 when "
    "unsafe, 2 on a bad file.",
)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.option(
    "--transition",
    nargs=2,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="OLD NEW",
    help="Certify the change from OLD's configuration to NEW's instead of one file.",
)
@click.option(
    "--trace-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the counterexample run as a trace file (replay: paxiom explore --replay FILE).",
)
@click.option("--leader", help="Report latency only for a leader at this node.")
@click.option("--no-load", is_flag=True, help="Skip the load linear program.")
@json_option
@user_errors
def check_cmd(
    file: Path | None,
    transition: tuple[Path, Path] | None,
    trace_out: Path | None,
    leader: str | None,
    no_load: bool,
    as_json: bool,
) -> None:
    if transition:
        if file is not None or leader is not None or no_load:
            raise PaxiomError("--transition OLD NEW takes no FILE, --leader or --no-load")
        from paxiom.cli.transition_view import transition_check  # it prints with this module's helpers

        transition_check(*transition, trace_out, as_json)
    if file is None:
        raise PaxiomError("give a cluster FILE, or --transition OLD NEW")
    cluster = load_cluster(file)
    if leader is not None and leader not in cluster.nodes:
        raise PaxiomError(f"--leader {leader!r} is not a node of {file}")
    if as_json:
        report = check(cluster, leader=leader, with_load=not no_load)
    else:
        with err_console.status(f"certifying {cluster.n} nodes"):
            report = check(cluster, leader=leader, with_load=not no_load)
    written = _write_trace(report, trace_out)
    if as_json:
        emit_json(report.to_json() | {"trace_file": str(written) if written else None})
    else:
        _print(report, written, trace_out)
    finish(report.safe)


def decider(outcome: Outcome) -> str:
    """Who decided a condition, as the subject of a sentence."""
    return "Z3 proved" if outcome.method == Z3 else "the exact procedure over the read-once tree decided"


def claim(families: tuple[str, ...]) -> str:
    """The condition as a sentence: 'any phase1 quorum and any two fast quorums share a node'."""
    counts = {f: families.count(f) for f in families}
    parts = [f"any {f} quorum" if k == 1 else f"any {'two' if k == 2 else k} {f} quorums" for f, k in counts.items()]
    return " and ".join(parts) + " share a node"


def _write_trace(report: Report, path: Path | None) -> Path | None:
    if path is None or not isinstance(report.run, Run):
        return None
    report.run.write(path)
    return path


def _print(report: Report, written: Path | None, asked: Path | None) -> None:
    c = report.cluster
    console.print(f"[bold]{escape(c.path)}[/]: {c.n} nodes" + (f" — {escape(c.description)}" if c.description else ""))
    for name, fam in c.families().items():
        default = " (default: phase1)" if name == "phase2" and not c.phase2_declared else ""
        console.print(f"  {name}: {escape(fam.describe())}{default}")
    console.print(intersection_table(report.outcomes, c.names))
    holds = {o.condition.name: o.holds for o in report.outcomes}
    for variant, ok in report.variant_verdicts().items():
        needs = variants(c)[variant]
        if ok:
            verb = "holds" if len(needs) == 1 else "hold"
            console.print(f"  [green]safe[/] for {escape(variant)}: {', '.join(needs)} {verb}")
        else:
            failed = [n for n in needs if not holds[n]]
            verb = "fails" if len(failed) == 1 else "fail"
            console.print(f"  [red]unsafe[/] for {escape(variant)}: {', '.join(failed)} {verb}")
    if report.safe:
        proven = "; ".join(
            f"{decider(o)} that {claim(o.condition.families)}" for o in report.outcomes if o.condition.needed
        )
        console.print(f"[bold green]SAFE[/]: {proven}.")
    else:
        _print_unsafe(report, written, asked)
    _print_tolerance(report)
    _print_latency(report)
    for name, ld in report.loads.items():
        value = f"{ld.value:.4f}" if ld.value is not None else "not computed"
        note = f" — {ld.note}" if ld.note else ""
        console.print(f"  load {name}: {value} ({escape(ld.method)}{escape(note)})")


def _print_unsafe(report: Report, written: Path | None, asked: Path | None) -> None:
    c = report.cluster
    failed = report.failed
    assert failed is not None and failed.counterexample is not None
    parts = " and ".join(f"{fam} quorum {brief(c.names(m), 40)}" for fam, m in failed.counterexample.quorums)
    console.print(f"[bold red]UNSAFE[/]: {failed.condition.name} fails: {escape(parts)} share no node.")
    print_run(report.run, written, asked)


def print_run(run: Run | str | None, written: Path | None, asked: Path | None) -> None:
    """The replayed counterexample run step by step (or why there is none), and where it was written."""
    if not isinstance(run, Run):
        console.print(f"  {escape(str(run))}")
        return
    where = f" (restricted to the nodes it uses: {', '.join(run.restricted_to)})" if run.restricted_to else ""
    console.print(f"A run of the {run.model.variant} spec in which two values are chosen{escape(where)}:")
    before: list[str] = []
    for number, (action, chosen) in enumerate(zip(run.actions, run.chosen, strict=True), start=1):
        note = f"   [yellow]chosen: {', '.join(chosen)}[/]" if chosen != before else ""
        console.print(f"  [dim]{number:>3}.[/] {escape(str(action))}{note}")
        before = chosen
    console.print(f"Replayed through the spec: agreement fails — {escape(str(run.agreement))}")
    if run.first_violation is not None:
        name, step, reason = run.first_violation
        console.print(f"  (the first invariant broken is {name}, at step {step}: {escape(reason)})")
    if written is not None:
        shown = escape(str(written))
        console.print(f"Trace written to {shown}; replay it with: paxiom explore --replay {shown}")
    elif asked is None:
        console.print("  (write it to a file with --trace-out FILE)")


def _print_tolerance(report: Report) -> None:
    c = report.cluster
    if not report.safe:
        console.print(
            "  [yellow]availability only — the file is UNSAFE, so the numbers below say when the "
            "cluster stops, not that it stays correct:[/]"
        )
    for name, t in report.tolerance.items():
        survives = "no crash" if t.min_crashes == 1 else f"any {plural(t.min_crashes - 1, 'crash', 'crashes')}"
        leave = "this node leaves" if t.min_crashes == 1 else f"these {t.min_crashes} leave"
        console.print(
            f"  fault tolerance {name}: survives {survives}; {leave} no {name} quorum: {brief(c.names(t.example), 20)}"
        )
    if report.zones:
        lost = [str(z["zone"]) for z in report.zones if z["live"]]
        kept = [str(z["zone"]) for z in report.zones if not z["live"]]
        staying = "staying live" if report.safe else "keeping quorums (but not safety)"
        console.print(
            f"  zones that can be lost entirely, {staying}: {', '.join(lost) or 'none'}"
            + (f"; not: {', '.join(kept)}" if kept else "")
        )


def plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def brief(names: list[str], limit: int = 8) -> str:
    """A set of nodes for a table cell: all of them, or the first few and how many there are."""
    if len(names) <= limit:
        return "{" + ", ".join(names) + "}"
    return "{" + ", ".join(names[:limit]) + f", … ({len(names)} nodes)}}"


def intersection_table(outcomes: list[Outcome], names: Callable[[int], list[str]]) -> Table:
    """Each decided condition as a row, with its violating quorums (shared by the file and transition checks)."""
    table = Table("condition", "needed", "verdict", "by", "seconds", "violating quorums", title="Intersection")
    for o in outcomes:
        cex = o.counterexample
        quorums = (
            ""
            if cex is None
            else " / ".join(f"{fam} {brief(names(m))}" for fam, m in cex.quorums)
            + (" (smallest)" if cex.minimum else " (minimal)")
        )
        verdict = "[green]holds[/]" if o.holds else "[red]fails[/]"
        by = "Z3" if o.method == Z3 else "exact"
        table.add_row(
            o.condition.name, "yes" if o.condition.needed else "no", verdict, by, f"{o.seconds:.3f}", escape(quorums)
        )
    return table


def _print_latency(report: Report) -> None:
    if not report.latency:
        return
    families = list(report.cluster.families())
    table = Table("leader", *(f"{f} ms" for f in families), "phase-2 quorum to prefer", title="Commit latency")
    for row in report.latency[:10]:
        cells = [row[f] for f in families]
        ms = [f"{cell['ms']:g}" for cell in cells if isinstance(cell, dict)]
        phase2 = row["phase2"]
        assert isinstance(phase2, dict)
        prefer = ", ".join(phase2["prefer"]) or brief(phase2["quorum"])
        table.add_row(str(row["leader"]), *ms, escape(prefer))
    console.print(table)
    if len(report.latency) > 1:
        best = report.latency[0]
        console.print(f"  best leader: {best['leader']} (steady-state commit = one phase-2 round trip)")
