"""`paxiom cluster reconfigure --cluster OLD --to NEW`: certify a change of configuration, then propose it."""

from __future__ import annotations

from pathlib import Path

import click

from paxiom.cli.kv_cmd import _connection
from paxiom.cli.output import console, emit_json, finish, json_option, user_errors
from paxiom.cli.transition_view import certify_transition
from paxiom.cluster.transition import load_transition
from paxiom.errors import PaxiomError
from paxiom.node.clusterfile import load_service_cluster
from paxiom.node.reconfigure import joining_text, submit

HELP = """Change a running cluster's nodes or quorums to those of NEW: add, remove or replace nodes, change
the quorum expressions. The change is first certified (paxiom quorum check --transition OLD NEW: Z3 proves
it safe under the α-window, or gives the smallest counterexample and a replayed spec run, exit 1). Then it
is proposed as one command through the log: chosen in slot i, it governs from slot i + α; every node
re-certifies it on receipt and refuses it if unsafe from its own configuration (exit 1).

Nodes NEW adds start from the file written to --joining (OLD's quorums, every node's addresses): start each
with `paxiom node --config JOINING --id NODE`. A node NEW removes may be stopped once the switch governs.

Exit 0: certified and chosen; 1: unsafe, refused, or the cluster did not answer in time; 2: bad input."""


@click.command("reconfigure", help=HELP)
@_connection
@click.option(
    "--to", "new_path", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The cluster file NEW."
)
@click.option(
    "--joining",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the file the added nodes start from (default: beside NEW, NEW's name + .joining.toml).",
)
@click.option(
    "--trace-out",
    type=click.Path(path_type=Path),
    default=None,
    help="Where an unsafe change's replayed spec run is written.",
)
@json_option
@user_errors
def reconfigure(
    cluster: Path,
    client_name: str | None,
    insecure: bool,
    timeout: float,
    new_path: Path,
    joining: Path | None,
    trace_out: Path | None,
    as_json: bool,
) -> None:
    old, new = load_service_cluster(cluster), load_service_cluster(new_path)
    if new.cluster_id != old.cluster_id:
        raise PaxiomError(f"service.cluster_id {new.cluster_id!r} is not the running cluster's {old.cluster_id!r}")
    report, doc = certify_transition(cluster, new_path, trace_out, as_json)
    if not report.safe:
        if as_json:
            emit_json({"certified": doc, "proposed": False})
        finish(False)
    transition = load_transition(str(cluster), str(new_path))
    added = [name for name in transition.nodes if name not in old.nodes]
    path = joining or new_path.with_name(new_path.stem + ".joining.toml")
    outcome = submit(cluster, transition, new, client=client_name, insecure=insecure, timeout=timeout)
    if added and not outcome:  # the nodes it adds start from this once the change is chosen
        path.write_text(joining_text(cluster, transition, new), encoding="utf-8")
    result = {
        "certified": doc,
        "proposed": True,
        "chosen": not outcome,
        "error": outcome or None,
        "added": added,
        "removed": [name for name in old.nodes if name not in new.nodes],
        "joining": str(path) if added and not outcome else None,
    }
    if as_json:
        emit_json(result)
    elif outcome:
        console.print(f"[bold red]{outcome}[/]")
    else:
        console.print(f"chosen: {transition.n} nodes, {new.path} governs from α slots after its switch")
        if added:
            console.print(f"start {', '.join(added)} with: paxiom node --config {path} --id NODE")
    finish(not outcome)
