"""Shared output conventions: one JSON document on stdout with --json, human text otherwise, exit codes."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, NoReturn, ParamSpec, TypeVar

import click
from rich.console import Console
from rich.markup import escape

from paxiom.errors import PaxiomError

EXIT_HOLDS = 0
EXIT_VIOLATION = 1
EXIT_BAD_INPUT = 2

P = ParamSpec("P")
R = TypeVar("R")

# Human-readable output goes to stdout; progress and errors to stderr, so --json stdout stays clean.
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def emit_json(document: Any) -> None:
    """Print exactly one JSON document on stdout."""
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


def fail(message: str, *, as_json: bool) -> NoReturn:
    """Report bad input in one line (and as a JSON document with --json), then exit 2."""
    err_console.print(f"[bold red]paxiom: error:[/] {escape(message)}", soft_wrap=True)
    if as_json:
        emit_json({"error": message})
    sys.exit(EXIT_BAD_INPUT)


def user_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn PaxiomError (and unreadable files) into a one-line error and exit code 2, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except PaxiomError as exc:
            fail(str(exc), as_json=bool(kwargs.get("as_json")))
        except OSError as exc:
            fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "), as_json=bool(kwargs.get("as_json")))

    return wrapper


def json_option(func: Callable[P, R]) -> Callable[P, R]:
    """The `--json` flag every verb takes; it arrives as the keyword `as_json`."""
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")(func)


def finish(holds: bool) -> NoReturn:
    """Exit 0 when the property holds, 1 when a violation was found."""
    sys.exit(EXIT_HOLDS if holds else EXIT_VIOLATION)
