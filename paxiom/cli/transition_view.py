"""`paxiom quorum check --transition OLD NEW`: the certified change of configuration, as text or JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

from rich.markup import escape

from paxiom.cli.output import console, emit_json, err_console, finish
from paxiom.cli.quorum_cmd import brief, claim, intersection_table, print_run
from paxiom.cluster.runs import Run
from paxiom.cluster.transition import TransitionReport, check_transition, load_transition


def transition_check(old: Path, new: Path, trace_out: Path | None, as_json: bool) -> NoReturn:
    report, doc = certify_transition(old, new, trace_out, as_json)
    if as_json:
        emit_json(doc)
    finish(report.safe)


def certify_transition(
    old: Path, new: Path, trace_out: Path | None, as_json: bool
) -> tuple[TransitionReport, dict[str, Any]]:
    """Decide the transition (printing the report unless `as_json`) and write a counterexample's run to
    `trace_out`; the report and its JSON document (`paxiom cluster reconfigure` certifies with it too)."""
    transition = load_transition(str(old), str(new))
    if as_json:
        report = check_transition(transition)
    else:
        with err_console.status(f"certifying the transition over {transition.n} nodes with Z3"):
            report = check_transition(transition)
    written = None
    if trace_out is not None and isinstance(report.run, Run):
        report.run.write(trace_out)
        written = trace_out
    if not as_json:
        _print(report, written, trace_out)
    return report, report.to_json() | {"trace_file": str(written) if written else None}


def _print(report: TransitionReport, written: Path | None, asked: Path | None) -> None:
    t = report.transition
    doc = report.to_json()
    changes = [f"{kind} {', '.join(doc['nodes'][kind])}" for kind in ("added", "removed") if doc["nodes"][kind]]
    console.print(
        f"[bold]{escape(t.old.path)}[/] -> [bold]{escape(t.new.path)}[/]: {len(t.old.nodes)} -> {len(t.new.nodes)} "
        f"nodes{escape(' (' + '; '.join(changes) + ')' if changes else '')}, under the α-window (spec/reconfig.py)"
    )
    for name, fam in t.families.items():
        console.print(f"  {name}: {escape(fam.describe())}")
    console.print(intersection_table(report.outcomes, t.names))
    for check in doc["checks"]:
        if not check["needed"]:
            console.print(f"  {check['condition']}: {escape(check['why'])}")
    if report.safe:
        proven = "; ".join(claim(o.condition.families) for o in report.outcomes if o.condition.needed)
        console.print(f"[bold green]SAFE[/] to change configuration: Z3 proved that {escape(proven)}.")
        return
    failed = report.failed
    assert failed is not None and failed.counterexample is not None
    parts = " and ".join(f"{fam} quorum {brief(t.names(m), 40)}" for fam, m in failed.counterexample.quorums)
    console.print(f"[bold red]UNSAFE[/]: {failed.condition.name} fails: {escape(parts)} share no node.")
    print_run(report.run, written, asked)
