"""`paxiom node`: run one replica of the service (or, with --maelstrom, speak Maelstrom on stdin/stdout)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from paxiom.cli.output import user_errors
from paxiom.errors import PaxiomError

if TYPE_CHECKING:
    from paxiom.node.sessions import Application


def load_app(spec: str | None) -> Callable[[], Application]:
    """`module:Class` or `path/to/file.py:Class`: a factory of the application to replicate (default: KV)."""
    if spec is None:
        from paxiom.node.kvstore import KVStore  # msgpack only for a node that runs

        return KVStore
    target, sep, attr = spec.rpartition(":")
    if not sep or not target or not attr:
        raise PaxiomError(f"--app {spec!r} must be MODULE:CLASS or FILE.py:CLASS")
    if target.endswith(".py"):
        path = Path(target)
        module_spec = importlib.util.spec_from_file_location(path.stem, path)
        if module_spec is None or module_spec.loader is None or not path.is_file():
            raise PaxiomError(f"--app: cannot load {target}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[path.stem] = module
        module_spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise PaxiomError(f"--app: cannot import {target}: {exc}") from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise PaxiomError(f"--app: {target} has no class or factory {attr!r}")
    return factory  # type: ignore[no-any-return]


@click.command(
    help="Run node ID of the cluster CONFIG describes, keeping its state in DIR. Refuses to start on quorums "
    "`paxiom quorum check` finds unsafe, on another node's or cluster's data directory, and on a log "
    "corrupted in the middle. Stops cleanly on SIGTERM or SIGINT (exit 0)."
)
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The cluster file (quorums, addresses, tls dir). Required unless --maelstrom.",
)
@click.option("--id", "node", help="This node's name in the cluster file. Required unless --maelstrom.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where this node keeps its log and snapshots (created if missing). Required unless --maelstrom, "
    "which defaults to $MAELSTROM_DATA_DIR.",
)
@click.option(
    "--trace",
    "trace_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write observation records (JSON lines) here, for `paxiom trace check`.",
)
@click.option("--insecure", is_flag=True, help="Plaintext peer and client links (loudly logged). Never in production.")
@click.option(
    "--app", "app", help="Replicate this application (MODULE:CLASS or FILE.py:CLASS) instead of the KV store."
)
@click.option("--maelstrom", is_flag=True, help="Speak Maelstrom's JSON protocol on stdin/stdout (lin-kv).")
@click.option("--json", "as_json", is_flag=True, help="Print a bad-input error as one JSON document.")
@user_errors
def node(
    config: Path | None,
    node: str | None,
    data_dir: Path | None,
    trace_dir: Path | None,
    insecure: bool,
    app: str | None,
    maelstrom: bool,
    as_json: bool,
) -> None:
    factory = load_app(app)
    if maelstrom:
        from paxiom.node import maelstrom as mode

        mode.main(data_dir, trace_dir, factory)
        return
    if config is None or node is None or data_dir is None:
        raise PaxiomError("--config, --id and --data-dir are required (without --maelstrom)")
    from paxiom.node import server

    server.setup_logging(node)
    server.main(server.NodeOptions(config, node, data_dir, trace_dir, insecure, factory))
