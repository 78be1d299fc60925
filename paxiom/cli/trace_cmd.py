"""`paxiom trace check DIR`: the refinement oracle over the merged traces of a real multi-process run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from paxiom.cli.output import console, emit_json, finish, json_option, user_errors
from paxiom.errors import PaxiomError


@click.group()
def trace() -> None:
    """Judge recorded runs (`paxiom node --trace DIR`, `paxiom sim --trace-dir DIR`) against the spec."""


@trace.command("check")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "--kv-reference",
    is_flag=True,
    help="The nodes ran paxiom.impl.kv.KeyValueStore: also check every restored snapshot against it.",
)
@click.option(
    "--service-reference",
    is_flag=True,
    help="The nodes were `paxiom node`s running the service's KV: also check every restored snapshot against it.",
)
@json_option
@user_errors
def check_cmd(directory: Path, kv_reference: bool, service_reference: bool, as_json: bool) -> None:
    """Merge DIR's per-node JSON-lines traces (*.jsonl) in causal order and run the refinement oracle.

    Exit 0: every step matched spec actions and every invariant held; 1: the first objection; 2: a
    malformed trace (one line naming file, line and field).
    """
    from paxiom.impl.kv import KeyValueStore
    from paxiom.impl.tracecheck import check
    from paxiom.impl.values import render_ops_with
    from paxiom.node.kvstore import render_op, replicated

    render_ops_with(render_op)  # the service KV's msgpack ops by name in objections, not byte by byte
    if kv_reference and service_reference:
        raise PaxiomError("--kv-reference and --service-reference name two state machines; give one")
    verdict = check(directory, reference=KeyValueStore if kv_reference else replicated if service_reference else None)
    doc: dict[str, Any] = {
        "holds": verdict.holds,
        "records": verdict.records,
        "nodes": list(verdict.nodes),
        "checked_transitions": verdict.transitions,
        "spec_actions_matched": verdict.actions_matched,
        "spec": verdict.spec,
    }
    objection, at = verdict.objection, verdict.at
    if objection is not None:
        doc |= {"check": objection.check, "reason": objection.reason, "matched": [str(a) for a in objection.matched]}
        if at is not None:
            doc |= {"file": str(at.file), "line": at.line}
    if as_json:
        emit_json(doc)
    elif objection is None:
        console.print(
            f"[green]holds[/]: {verdict.records} records of {len(verdict.nodes)} nodes, "
            f"{verdict.transitions} transitions checked against spec/{verdict.spec} "
            f"({verdict.actions_matched} spec actions matched)"
        )
    else:
        where = f" at {at.where}" if at is not None else ""
        console.print(f"[bold red]oracle objects[/]{escape(where)}: [bold]{escape(objection.check)}[/]")
        console.print(f"  {escape(objection.reason)}", soft_wrap=True)
    finish(verdict.holds)
