"""Reading the files the tools take: bounded size, strict UTF-8, bounded nesting, every error at file:line:col.

Every reader of a user's file goes through here, so a hostile file meets one set of limits: at most
MAX_FILE_BYTES, UTF-8 only, brackets nested at most MAX_NESTING deep (the standard library's TOML and
JSON parsers recurse once per level and die with RecursionError near 330), and in TOML no number Python
cannot convert (4,301 digits and more). In JSON such numbers, NaN and the infinities are kept as `Rejected`
for the schema to name with their field. What is refused is a `PaxiomError` whose place is `file:line:col`.
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from json.decoder import scanstring  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

from paxiom.errors import PaxiomError

MAX_FILE_BYTES = 32 * 1024 * 1024
"""Largest file read (a 100,000-node cluster file is about 2 MB, a long simulation trace a few MB)."""
MAX_NESTING = 64
"""Deepest nesting of arrays and tables/objects accepted in a TOML or JSON file."""

_JSON_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_TOML_HIDDEN = re.compile(r'"""(?:[^\\]|\\.)*?"""|\'\'\'.*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*', re.DOTALL)
"""TOML strings and comments, where brackets are text."""
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_INNERMOST = re.compile(r"[\[{][\]}]")
_BRACKET = re.compile(r'[\[\]{}"\'#]')
_DIGIT_RUN = re.compile(r"[0-9_]{4000,}")


@dataclass
class Source:
    """The text of one file and where each character offset is, as `file:line:col` (1-based)."""

    path: str
    text: str
    _line_starts: list[int] = field(default_factory=list, repr=False)

    def position(self, offset: int) -> tuple[int, int]:
        if not self._line_starts:
            self._line_starts = [0, *(m.end() for m in re.finditer("\n", self.text))]
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return line + 1, offset - self._line_starts[line] + 1

    def where(self, offset: int) -> str:
        line, col = self.position(max(0, min(offset, len(self.text))))
        return f"{self.path}:{line}:{col}"


def decode(data: bytes, path: str) -> Source:
    """Strict UTF-8 (a leading byte-order mark is dropped); a bad byte is reported at its line and column."""
    try:
        return Source(path, data.decode("utf-8").removeprefix("\ufeff"))
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        col = len(data[line_start : exc.start].decode("utf-8", errors="replace")) + 1
        raise PaxiomError(
            f"not UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8", where=f"{path}:{line}:{col}"
        ) from None


def read_source(path: str | Path, *, limit: int = MAX_FILE_BYTES) -> Source:
    """The file's text, refusing files larger than `limit` bytes before reading them whole."""
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise PaxiomError(f"the file is larger than {limit:,} bytes, the most paxiom reads", where=str(path))
    return decode(data, str(path))


def read_lines(path: str | Path, *, max_line: int) -> Iterator[tuple[int, str]]:
    """Each line of a text file too large to read whole (a trace), numbered from 1 and read at most
    `max_line` bytes at a time, so one endless line costs `max_line` of memory; a longer line, a bad
    UTF-8 byte (at its column) or an unreadable file is a PaxiomError."""
    try:
        with open(path, "rb") as handle:
            for number in itertools.count(1):
                raw = handle.readline(max_line + 1)
                if not raw:
                    return
                if len(raw) > max_line:
                    raise PaxiomError(f"a line of more than {max_line:,} bytes", where=f"{path}:{number}")
                yield number, _decode_line(raw, f"{path}:{number}")
    except OSError as exc:
        raise PaxiomError(f"cannot read: {exc.strerror}", where=str(path)) from None


def _decode_line(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        col = len(raw[: exc.start].decode("utf-8", errors="replace")) + 1
        raise PaxiomError(f"not UTF-8 (byte 0x{raw[exc.start]:02x})", where=f"{where}:{col}") from None


def check_nesting(src: Source, skip: re.Pattern[str] = _JSON_STRINGS, limit: int = MAX_NESTING) -> None:
    """Refuse brackets nested deeper than `limit` outside the strings (and comments) `skip` matches.

    Fast at any size: with the rest removed, each pass of one regular expression deletes the innermost
    bracket pairs, so a string of brackets survives `limit` passes only if it nests deeper (or does not
    balance, which the parser reports); only then is the place found character by character.
    """
    if src.text.count("[") + src.text.count("{") <= limit:
        return
    brackets = _NOT_BRACKET.sub("", skip.sub("", src.text))
    for _ in range(limit):
        if not brackets:
            return
        brackets = _INNERMOST.sub("", brackets)
    if brackets:
        _point_at_depth(src, skip, limit)


def _point_at_depth(src: Source, skip: re.Pattern[str], limit: int) -> None:
    depth, pos = 0, 0
    for m in _BRACKET.finditer(src.text):
        if m.start() < pos:
            continue
        hidden = skip.match(src.text, m.start())
        if hidden:
            pos = hidden.end()
        elif m.group() in "[{":
            depth += 1
            if depth > limit:
                raise PaxiomError(f"nested more than {limit} deep (the most paxiom reads)", where=src.where(m.start()))
        elif m.group() in "]}":
            depth = max(0, depth - 1)


def check_toml_nesting(src: Source) -> None:
    """Refuse what would make the TOML parser recurse past Python's stack (it takes ~330 levels)."""
    check_nesting(src, _TOML_HIDDEN)


def huge_number_where(src: Source) -> str:
    """Where the first integer too long for Python's int() is (the TOML parser raises a bare ValueError)."""
    found = _DIGIT_RUN.search(src.text)
    return src.where(found.start()) if found else src.path


@dataclass(frozen=True)
class Rejected:
    """A JSON number paxiom does not take (NaN, an infinity, an integer too long for int()), kept for the
    schema to name with its field."""

    text: str

    def describe(self) -> str:
        digits = self.text.lstrip("-")
        return f"a {len(digits):,}-digit number" if digits.isdigit() else self.text


def _parse_int(text: str) -> int | Rejected:
    return Rejected(text) if len(text) > 4000 else int(text)


def _parse_float(text: str) -> float | Rejected:
    value = float(text)
    return value if math.isfinite(value) else Rejected(text)


@dataclass
class JsonDocument:
    """A decoded JSON file and the way back from a field to its place in the text."""

    src: Source
    value: Any

    def where(self, path: tuple[str | int, ...]) -> str:
        return self.src.where(locate_json(self.src.text, path))


def read_json(path: str | Path) -> JsonDocument:
    """Read a JSON file within the limits above; a syntax error is reported at its line and column."""
    src = read_source(path)
    check_nesting(src)
    try:
        return JsonDocument(src, _loads(src))
    except ValueError:  # int() of a number past Python's 4,300-digit limit: keep it for the schema to name
        return JsonDocument(src, _loads(src, parse_int=_parse_int))


def _loads(src: Source, **hooks: Any) -> Any:
    try:
        return json.loads(src.text, parse_float=_parse_float, parse_constant=Rejected, **hooks)
    except json.JSONDecodeError as exc:
        raise PaxiomError(f"not valid JSON: {exc.msg}", where=f"{src.path}:{exc.lineno}:{exc.colno}") from None


_BLANK = re.compile(r"[ \t\n\r]*")
_SKIPPER = json.JSONDecoder(parse_int=str, parse_float=str, parse_constant=str)
"""Skips values without converting numbers (a 5,000-digit integer would raise)."""


def _skip_blank(text: str, pos: int) -> int:
    m = _BLANK.match(text, pos)
    assert m is not None  # the pattern matches the empty string
    return m.end()


def _skip_value(text: str, pos: int) -> int:
    """The offset just after the (valid, nesting-checked) JSON value starting at `pos`."""
    return int(_SKIPPER.raw_decode(text, pos)[1])


def locate_json(text: str, path: tuple[str | int, ...]) -> int:
    """Where the value at `path` (object keys and array indices) begins in a valid JSON text; where its
    nearest existing ancestor begins if it is missing. Only called to report an error."""
    pos = _skip_blank(text, 0)
    for step in path:
        opening = "{" if isinstance(step, str) else "["
        if not text.startswith(opening, pos):
            return pos
        found = None
        cursor, index = _skip_blank(text, pos + 1), 0
        while cursor < len(text) and text[cursor] not in "]}":
            if opening == "{":
                key, cursor = scanstring(text, cursor + 1)
                cursor = _skip_blank(text, _skip_blank(text, cursor) + 1)  # past the colon
                hit = key == step
            else:
                hit = index == step
            if hit:
                found = cursor  # of duplicate keys the first is shown (json.loads keeps the last)
                break
            cursor = _skip_blank(text, _skip_value(text, cursor))
            cursor = _skip_blank(text, cursor + 1) if text.startswith(",", cursor) else cursor
            index += 1
        if found is None:
            return pos
        pos = found
    return pos
