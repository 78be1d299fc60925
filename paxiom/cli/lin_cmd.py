"""`paxiom lin check HISTORY`: is a recorded client history linearizable?

Reads a Jepsen/Maelstrom `history.edn` or paxiom's JSON lines, checks it key by key against the model
(`cas-register` or `kv`; inferred from the operations when not given), and prints the verdict with a
minimal explanation of a violation. Exit 0 linearizable, 1 not linearizable or unknown (the search ran
out of --timeout or memory: never reported as ok), 2 malformed input.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from paxiom.cli.output import console, emit_json, finish, json_option, user_errors
from paxiom.errors import PaxiomError
from paxiom.lin.check import Result
from paxiom.lin.check import check as check_history
from paxiom.lin.history import read_history
from paxiom.lin.models import MODELS, show_state
from paxiom.lin.timeline import render

_MARK = {"ok": "[green]linearizable[/]", "violation": "[red]NOT linearizable[/]", "unknown": "[yellow]UNKNOWN[/]"}


@click.group()
def lin() -> None:
    """Linearizability of client histories (Jepsen/Maelstrom EDN or paxiom JSON lines)."""


@lin.command("check")
@click.argument("history", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--model",
    type=click.Choice(sorted(MODELS)),
    default=None,
    help="The sequential model (default: kv if the history uses get/put/append, else cas-register).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Seconds the search may take; a search that runs out is 'unknown' (exit 1).",
)
@click.option(
    "--html",
    "html_out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write an HTML timeline of the offending part of the history.",
)
@json_option
@user_errors
def check(history: Path, model: str | None, timeout: float | None, html_out: Path | None, as_json: bool) -> None:
    """Check HISTORY for linearizability, each key alone; explain a violation with a minimal set of operations."""
    events = read_history(history)
    try:
        result = check_history(events, model=model, timeout=timeout)
    except PaxiomError as exc:
        raise PaxiomError(str(exc), where=str(history)) from None
    if html_out is not None:
        html_out.write_text(render(result, title=f"paxiom lin: {history.name}"), encoding="utf-8")
    if as_json:
        doc = result.to_json()
        doc["history"] = str(history)
        doc["html"] = None if html_out is None else str(html_out)
        emit_json(doc)
    else:
        _print(result)
        if html_out is not None:
            console.print(f"timeline: {escape(str(html_out))}")
    finish(result.linearizable)


def _print(result: Result) -> None:
    keys = len(result.keys)
    console.print(
        f"{_MARK[result.verdict]}: {len(result.operations)} operations on {keys} key(s), "
        f"model {result.model.name}, {result.seconds:.2f} s"
    )
    if result.verdict == "unknown":
        console.print("The search did not finish, so linearizability is undecided (this is not a pass).")
    for k in result.keys:
        if k.verdict != "ok":
            reason = f" ({escape(k.reason)})" if k.reason else ""
            console.print(f"  key {escape(show_state(k.key))}: {k.verdict}{reason}, {k.operations} operations")
    if result.explanation is not None:
        for line in result.explanation.lines(result.model):
            console.print(escape(line))
