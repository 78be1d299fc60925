"""Shared output conventions: one JSON document on stdout with --json, human text otherwise, exit codes."""

from __future__ import annotations

import functools
import json
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, ParamSpec, TypeVar

import click
from rich.console import Console, ConsoleDimensions
from rich.markup import escape

from paxiom.errors import PaxiomError

EXIT_HOLDS = 0
EXIT_VIOLATION = 1
EXIT_BAD_INPUT = 2

P = ParamSpec("P")
R = TypeVar("R")

UNWRAPPED = 100_000
"""The width text is laid out in when it goes to a file or a pipe: lines end where the sentence does."""


class _Console(Console):
    """A terminal's width on a terminal (or $COLUMNS when set); elsewhere no hard wrapping mid-sentence."""

    @property
    def size(self) -> ConsoleDimensions:
        if self.is_terminal or os.environ.get("COLUMNS", "").isdigit():
            return super().size
        return ConsoleDimensions(UNWRAPPED, 25)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


# Human-readable output goes to stdout; progress and errors to stderr, so --json stdout stays clean.
console = _Console(highlight=False, emoji=False)  # ":100:" in file:100:1 is not an emoji
err_console = _Console(stderr=True, highlight=False, emoji=False)


def _finite(value: Any) -> Any:
    """NaN and infinities are not JSON: they become null, so a document is always strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def emit_json(document: Any) -> None:
    """Print exactly one strict JSON document on stdout."""
    sys.stdout.write(json.dumps(_finite(document), indent=2, sort_keys=False, default=str, allow_nan=False) + "\n")
    sys.stdout.flush()


def one_line(message: str) -> str:
    """A message with its line breaks folded, for the one-line error every verb promises."""
    return " ".join(message.split())


def count(n: int, noun: str) -> str:
    """`1 model`, `2 models`: the number and the noun in agreement."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def show_progress() -> bool:
    """Progress goes to stderr whenever stderr is a terminal (with --json too), never into a log or a pipe."""
    return err_console.is_terminal


def output_path(path: Path) -> Path:
    """Every verb that writes a file or a directory creates its missing parent folders (said in --help)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def fail(message: str, *, as_json: bool) -> NoReturn:
    """Report bad input in one line (and as a JSON document with --json), then exit 2."""
    err_console.print(f"[bold red]paxiom: error:[/] {escape(one_line(message))}", soft_wrap=True)
    if as_json:
        emit_json({"error": one_line(message)})
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


class FiniteFloat(click.FloatRange):
    """A number of seconds (or the like) in [min, max]: NaN and infinities are refused, not compared."""

    name = "finite float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return super().convert(number, param, ctx)


def json_option(func: Callable[P, R]) -> Callable[P, R]:
    """The `--json` flag every verb takes; it arrives as the keyword `as_json`."""
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")(func)


def finish(holds: bool) -> NoReturn:
    """Exit 0 when the property holds, 1 when a violation was found."""
    sys.exit(EXIT_HOLDS if holds else EXIT_VIOLATION)
