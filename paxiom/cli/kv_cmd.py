"""`paxiom kv`: the key-value service from the command line (a Python client under the hood).

Exit 0 when the operation succeeded (a get found its key, a cas matched), 1 when it did not (missing key,
cas mismatch) or the cluster could not answer in time (the message says which), 2 on bad input.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, ParamSpec, TypeVar

import click

from paxiom.cli.output import (
    EXIT_VIOLATION,
    FiniteFloat,
    console,
    emit_json,
    err_console,
    json_option,
    one_line,
    user_errors,
)
from paxiom.errors import PaxiomError
from paxiom.node import kvstore as kv

if TYPE_CHECKING:
    from paxiom.client import Client

HELP = """Put, get, delete, compare-and-set and list keys of a running cluster (paxiom node).

Exit 0 when the operation succeeded (a get found its key, a cas matched), 1 when it did not (missing key,
cas mismatch) or the cluster could not answer in time (the message says which), 2 on bad input."""

P = ParamSpec("P")
R = TypeVar("R")


def _connection(func: Callable[P, R]) -> Callable[P, R]:
    """The options every kv verb takes: the cluster file, the client certificate, plaintext, deadline."""
    for option in reversed(
        [
            click.option(
                "--cluster",
                "cluster",
                required=True,
                type=click.Path(dir_okay=False, path_type=Path),
                help="The cluster file the nodes run with.",
            ),
            click.option("--client", "client_name", help="Client certificate to use (default: the only one)."),
            click.option("--insecure", is_flag=True, help="Plaintext, for nodes started with --insecure."),
            click.option(
                "--timeout",
                type=FiniteFloat(min=0.1),
                default=10.0,
                show_default=True,
                help="Seconds before giving up.",
            ),
        ]
    ):
        func = option(func)
    return func


def _kv_verb(func: Callable[P, None]) -> Callable[P, None]:
    """What every kv verb shares: the connection options, --json, and one-line errors instead of tracebacks."""
    return _connection(json_option(user_errors(_service_errors(func))))


def _service_errors(func: Callable[P, None]) -> Callable[P, None]:
    """A cluster that cannot answer is exit 1 with one line; a refused request is bad input (exit 2)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        from paxiom.client import ClientError, Rejected  # the client (asyncio) only once a verb runs

        try:
            func(*args, **kwargs)
        except Rejected as exc:
            raise PaxiomError(f"refused: {exc}") from None
        except ClientError as exc:
            _unanswered(f"{type(exc).__name__}: {exc}", bool(kwargs.get("as_json")))

    return wrapper


def _unanswered(message: str, as_json: bool) -> NoReturn:
    err_console.print(f"[bold red]paxiom: {one_line(message)}[/]", markup=True, highlight=False)
    if as_json:
        emit_json({"error": message})
    raise SystemExit(EXIT_VIOLATION)


def _open(cluster: Path, client_name: str | None, insecure: bool, timeout: float) -> Client:
    from paxiom.client.cluster import connect

    return connect(cluster, client=client_name, insecure=insecure, timeout=timeout)


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("utf-8", "backslashreplace")


def _answer(document: dict[str, Any], human: str, ok: bool, as_json: bool) -> None:
    if as_json:
        emit_json(document)
    else:
        console.print(human, markup=False, highlight=False)
    if not ok:
        raise SystemExit(EXIT_VIOLATION)


@click.group(help=HELP)
def kv_group() -> None:
    pass


@kv_group.command("put", help="Set KEY to VALUE (UTF-8).")
@click.argument("key")
@click.argument("value")
@_kv_verb
def put(
    key: str, value: str, cluster: Path, client_name: str | None, insecure: bool, timeout: float, as_json: bool
) -> None:
    with _open(cluster, client_name, insecure, timeout) as client:
        client.put(key, value.encode())
        _answer({"key": key, "ok": True, "leader": client.leader}, "ok", True, as_json)


@kv_group.command("get", help="Print KEY's value (a linearizable read, through the log). Exit 1 if absent.")
@click.argument("key")
@_kv_verb
def get(key: str, cluster: Path, client_name: str | None, insecure: bool, timeout: float, as_json: bool) -> None:
    with _open(cluster, client_name, insecure, timeout) as client:
        value = client.get(key)
    _answer(
        {"key": key, "found": value is not None, "value": _text(value)},
        _text(value) or "" if value is not None else f"{key}: not found",
        value is not None,
        as_json,
    )


@kv_group.command("del", help="Delete KEY. Exit 1 if it was absent.")
@click.argument("key")
@_kv_verb
def delete(key: str, cluster: Path, client_name: str | None, insecure: bool, timeout: float, as_json: bool) -> None:
    with _open(cluster, client_name, insecure, timeout) as client:
        existed = client.delete(key)
    _answer({"key": key, "deleted": existed}, "deleted" if existed else f"{key}: not found", existed, as_json)


@kv_group.command(
    "cas", help="Set KEY to NEW if it holds --expect OLD (or, with --absent, does not exist). Exit 1 if not."
)
@click.argument("key")
@click.argument("new")
@click.option("--expect", "expected", help="The value KEY must hold.")
@click.option("--absent", is_flag=True, help="KEY must not exist.")
@_kv_verb
def cas(
    key: str,
    new: str,
    expected: str | None,
    absent: bool,
    cluster: Path,
    client_name: str | None,
    insecure: bool,
    timeout: float,
    as_json: bool,
) -> None:
    if absent == (expected is not None):
        raise PaxiomError("give exactly one of --expect OLD and --absent")
    with _open(cluster, client_name, insecure, timeout) as client:
        result = client.cas(key, None if expected is None else expected.encode(), new.encode())
    ok = result.status == kv.OK
    human = {kv.OK: "ok", kv.NOT_FOUND: f"{key}: not found"}.get(
        result.status, f"{key}: mismatch (current value: {_text(result.value)})"
    )
    _answer({"key": key, "swapped": ok, "status": result.status, "current": _text(result.value)}, human, ok, as_json)


@kv_group.command("list", help="List keys starting with PREFIX, in order, at most --limit of them.")
@click.argument("prefix", default="")
@click.option("--limit", type=click.IntRange(1, kv.MAX_LIST), default=100, show_default=True)
@click.option("--after", default="", help="Start after this key (paging).")
@_kv_verb
def list_keys(
    prefix: str,
    limit: int,
    after: str,
    cluster: Path,
    client_name: str | None,
    insecure: bool,
    timeout: float,
    as_json: bool,
) -> None:
    with _open(cluster, client_name, insecure, timeout) as client:
        result = client.list(prefix, limit, after)
    more = f"\n... more after {result.keys[-1]} (--after {result.keys[-1]})" if result.more and result.keys else ""
    _answer(
        {"prefix": prefix, "keys": list(result.keys), "more": result.more}, "\n".join(result.keys) + more, True, as_json
    )
