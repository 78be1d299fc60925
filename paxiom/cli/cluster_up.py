"""`paxiom cluster up` and `paxiom cluster status`: a local supervised cluster, and any cluster's state."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from types import FrameType
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from paxiom.cli.output import FiniteFloat, console, emit_json, err_console, finish, json_option, user_errors
from paxiom.errors import PaxiomError
from paxiom.node.clusterfile import ServiceCluster, load_service_cluster


@click.command(
    "up",
    help="Run a local cluster of N nodes on loopback until Ctrl-C: certificates (as `cluster init` writes "
    "them), ports from the OS, a data directory and a log per node, one process per node, a node that dies "
    "restarted. A --dir laid out before is reused (same cluster, same data). Exit 0 after a clean stop, 1 "
    "if the cluster did not elect a leader in time.",
)
@click.option("-n", "count", type=click.IntRange(1, 9), help="Number of nodes (default 3, or --mains + --auxiliaries).")
@click.option(
    "--mains", type=click.IntRange(2, 8), help="Cheap Paxos: this many main nodes (n1...), then the auxiliaries."
)
@click.option(
    "--auxiliaries",
    type=click.IntRange(0, 4),
    default=0,
    show_default=True,
    help="Cheap Paxos (a new --dir only): the last this many nodes are auxiliaries, lightweight processes that "
    "vote only to retire a failed main and store no log; quorums are any as many nodes as there are mains.",
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("paxiom-cluster"),
    show_default=True,
    help="Where the cluster file, certificates, data and logs live.",
)
@click.option("--app", help="Replicate this application (MODULE:CLASS or FILE.py:CLASS) instead of the KV store.")
@click.option(
    "--fast",
    type=click.IntRange(1, 9),
    help="Fast Paxos: fast quorums of this many nodes (a new --dir only). The nodes refuse a size for which a "
    "phase-1 quorum and two fast quorums can share no node: -n 4 --fast 3 runs, --fast 2 is refused.",
)
@click.option("--insecure", is_flag=True, help="Plaintext links (loudly logged by every node).")
@click.option("--no-restart", is_flag=True, help="Leave a node that dies down.")
@click.option(
    "--trace",
    "trace_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Nodes write observation records here (a killed node's Crash too), for `paxiom trace check`.",
)
@click.option(
    "--ready-timeout",
    type=FiniteFloat(min=1),
    default=30.0,
    show_default=True,
    help="Seconds to wait for every node to answer and a leader to be elected.",
)
@json_option
@user_errors
def up(
    count: int | None,
    mains: int | None,
    auxiliaries: int,
    directory: Path,
    app: str | None,
    fast: int | None,
    insecure: bool,
    no_restart: bool,
    trace_dir: Path | None,
    ready_timeout: float,
    as_json: bool,
) -> None:
    import asyncio

    from paxiom.node.supervisor import Supervisor, prepare, wait_ready

    path = prepare(directory, nodes_of(count, mains, auxiliaries), fast=fast, auxiliaries=auxiliaries)
    extra = ["--app", app] if app else []
    supervisor = Supervisor(path, insecure=insecure, extra=extra, restart=not no_restart, trace_dir=trace_dir)
    stopping: list[int] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.append(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    ready = False
    logs = {node: _log_size(supervisor.root, node) for node in supervisor.sc.nodes}
    try:
        supervisor.start_all()
        deadline = time.monotonic() + ready_timeout
        summary = asyncio.run(
            wait_ready(
                supervisor.sc,
                deadline,
                insecure=insecure,
                cancelled=lambda: bool(stopping) or not supervisor.can_elect(),
            )
        )
        if stopping:
            return
        ready = bool(summary["leader"]) and not summary["unreachable"]
        document = {
            "cluster": str(path),
            "ready": ready,
            **summary,
            "pids": {node: p.popen.pid for node, p in supervisor.processes.items()},
        }
        if as_json:
            emit_json(document)
        elif ready:
            _print_up(supervisor.sc, path, document, app)
        if not ready:
            why = _first_error(supervisor.root, logs) or f"unreachable: {', '.join(summary['unreachable']) or 'none'}"
            when = f"within {ready_timeout:g} s" if supervisor.can_elect() else "possible: too few nodes still running"
            err_console.print(f"paxiom: no leader {when}; {why}", highlight=False, soft_wrap=True)
            finish(False)
        while not stopping:
            time.sleep(0.2)
            for node, code, again in supervisor.reap():
                what = "restarted" if again else "left down"
                err_console.print(f"{node} exited with status {code}; {what}", highlight=False)
    finally:
        if ready or stopping:
            err_console.print("stopping the cluster", highlight=False)
        supervisor.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def nodes_of(count: int | None, mains: int | None, auxiliaries: int) -> int:
    """How many nodes -n, --mains and --auxiliaries ask for (3 when none does)."""
    if mains is None:
        return 3 if count is None else count
    if count is not None and count != mains + auxiliaries:
        raise PaxiomError(f"-n {count} is not --mains {mains} + --auxiliaries {auxiliaries}")
    return mains + auxiliaries


def _log_size(root: Path, node: str) -> int:
    try:
        return (root / "logs" / f"{node}.log").stat().st_size
    except FileNotFoundError:
        return 0


def _first_error(root: Path, since: dict[str, int]) -> str | None:
    """`logs/n1.log: <its last error line>` for the first node whose log gained one since `since` (its size
    before this start): a JSON line at ERROR or above, or a line that is not JSON (`paxiom: error: ...`, a
    traceback's last line)."""
    for node, offset in since.items():
        log = root / "logs" / f"{node}.log"
        try:
            with log.open("rb") as f:
                f.seek(offset)
                lines = f.read().decode("utf-8", "replace").splitlines()
        except FileNotFoundError:
            continue
        errors = [shown for line in lines if (shown := _error_text(line.strip()))]
        if errors:
            return f"{log}: {errors[-1]}"
    return None


def _error_text(line: str) -> str | None:
    """The line as an error worth naming, or None (an empty line, a JSON log line below ERROR)."""
    if not line:
        return None
    try:
        record = json.loads(line)
    except ValueError:
        return line
    if not isinstance(record, dict):
        return line
    if record.get("level") not in ("error", "critical"):
        return None
    return " ".join(str(record[k]) for k in ("msg", "reason", "problems") if k in record)


def _shown(sc: ServiceCluster, node: str) -> str:
    """A node's name in a table; a Cheap Paxos auxiliary says so (it holds no log: its lag means nothing)."""
    return f"{node} (auxiliary)" if node in sc.auxiliaries else node


def _print_up(sc: ServiceCluster, path: Path, doc: dict[str, Any], app: str | None) -> None:
    table = Table("node", "pid", "peer", "client", "metrics", title=f"cluster {sc.cluster_id}: {escape(str(path))}")
    for node in sc.nodes:
        metrics = f"http://{sc.metrics[node]}/metrics" if node in sc.metrics else ""
        table.add_row(
            _shown(sc, node), str(doc["pids"].get(node, "-")), str(sc.peers[node]), str(sc.clients[node]), metrics
        )
    console.print(table)
    where = escape(str(path))
    if app is None:
        console.print(f"leader: {doc['leader']}   try:  paxiom kv put greeting hello --cluster {where}")
    else:  # the app's ops are its own: the KV verbs would be applied as malformed ops
        console.print(
            f"leader: {doc['leader']}   {escape(app)}'s ops go through its own client, built on "
            f'paxiom.client.cluster.connect("{where}").execute(op) (docs/service.md, "Embedding")'
        )
    console.print(f"       paxiom cluster status --cluster {escape(str(path))}     (Ctrl-C stops the cluster)")


@click.command(
    "status",
    help="Ask every node of a running cluster for its state: role, ballot, slots committed, "
    "lag behind the most advanced node, slots applied, WAL size, last fdatasync. Exit 0 when every node answered "
    "and one leads, 1 otherwise.",
)
@click.option(
    "--cluster",
    "cluster_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The cluster file the nodes run with.",
)
@click.option("--client", "client_name", help="Client certificate to use (default: the only one).")
@click.option("--insecure", is_flag=True, help="Plaintext, for nodes started with --insecure.")
@click.option("--timeout", type=FiniteFloat(min=0.1), default=2.0, show_default=True, help="Seconds per node.")
@json_option
@user_errors
def status(cluster_file: Path, client_name: str | None, insecure: bool, timeout: float, as_json: bool) -> None:
    import asyncio

    from paxiom.node.supervisor import statuses, summarise

    sc = load_service_cluster(cluster_file)
    summary = summarise(asyncio.run(statuses(sc, client=client_name, insecure=insecure, timeout=timeout)))
    healthy = bool(summary["leader"]) and not summary["unreachable"]
    if as_json:
        emit_json({"cluster": str(cluster_file), "healthy": healthy, **summary})
        finish(healthy)
    table = Table(
        "node",
        "role",
        "ballot",
        "committed",
        "lag",
        "applied",
        "WAL bytes",
        "last sync ms",
        "incarnation",
        title=f"cluster {sc.cluster_id}: leader {summary['leader'] or 'none'}",
    )
    for node, doc in summary["nodes"].items():
        if "error" in doc:
            table.add_row(_shown(sc, node), f"[red]down[/] ({escape(doc['error'].split(':')[0])})", *([""] * 7))
            continue
        ballot = ".".join(map(str, doc["ballot"]))
        cells = [
            doc["role"],
            ballot,
            doc["commit_index"],
            doc["lag"],
            doc["applied_index"],
            doc["wal_bytes"],
            doc["last_sync_ms"],
            doc["incarnation"],
        ]
        table.add_row(_shown(sc, node), *("-" if c is None else escape(str(c)) for c in cells))
    console.print(table)
    finish(healthy)
