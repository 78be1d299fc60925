"""A small, strict, bounded EDN reader and writer, enough for Jepsen and Maelstrom histories.

Supported: maps, vectors, lists, sets, strings, keywords, symbols, integers, floats, nil, true/false,
comments and tagged literals (kept as `Tagged`, so `#jepsen.history.Op{...}` reads as its map).
Vectors and lists read as tuples so that values are hashable model states; keywords and symbols are
`str` subclasses, so `:read` compares equal to "read" (the checker only ever needs the name).
Every error is a PaxiomError naming `file:line`, never a traceback; depth and size are bounded so a
hostile file cannot exhaust the stack or memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from paxiom.errors import PaxiomError

MAX_DEPTH = 64
MAX_ATOM = 256  # a number or symbol longer than this is malformed (and would cost quadratic int parsing)


class Keyword(str):
    """An EDN keyword, `:name`; the str value is the name without the colon."""

    __slots__ = ()


class Symbol(str):
    """An EDN symbol such as `java.net.SocketTimeoutException`."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Tagged:
    """A tagged literal `#tag form` whose tag this reader does not interpret."""

    tag: str
    form: Any


# One match per token, whitespace, commas and comments skipped in front; `bad` catches any other character
# (an unterminated string starts with one) and the empty match at the end has no group.
_TOKEN = re.compile(
    r"""(?:[\s,]+|;[^\n]*)*
      (?:(?P<atom>[^\s,{}\[\]()";\#]+)
        |(?P<open>\#\{|[{\[(])
        |(?P<close>[}\])])
        |(?P<str>"(?:[^"\\]|\\.)*")
        |(?P<tag>\#[A-Za-z][\w.\-/]*)
        |(?P<bad>.)
      )?""",
    re.VERBOSE | re.DOTALL,
)
_INT = re.compile(r"[+-]?\d+N?")
_FLOAT = re.compile(r"[+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?M?")
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}
_CLOSER = {"{": "}", "#{": "}", "[": "]", "(": ")"}
_TAG = "#tag"  # the opener of a pending tagged literal's frame


class _Reader:
    """Reads top-level forms from one text, tracking the line of each for error messages.

    Iterative (a stack of open collections, not recursion), so depth is a counted bound, not the
    interpreter's stack.
    """

    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        self.seen = (0, 1)  # (offset, line): forms are read in order, so lines are counted incrementally

    def line(self, offset: int) -> int:
        start, line = self.seen if offset >= self.seen[0] else (0, 1)
        line += self.text.count("\n", start, offset)
        self.seen = (offset, line)
        return line

    def error(self, what: str, offset: int) -> PaxiomError:
        return PaxiomError(what, where=f"{self.source}:{self.line(offset)}")

    def forms(self) -> Iterator[tuple[Any, int]]:
        """Each top-level form with the line it starts on."""
        stack: list[tuple[str, list[Any], int]] = []  # (opener, items so far, offset of the opener)
        keywords: dict[str, Keyword] = {}
        tags = 0  # tagged literals still waiting for their form
        start = 0
        for m in _TOKEN.finditer(self.text):
            kind = m.lastgroup
            if kind is None:
                continue
            pos = m.start(kind)
            if not stack:
                start = pos
            value: Any
            if kind == "atom":
                text = m.group(kind)
                value = keywords.get(text)
                if value is None:
                    value = self.atom(text, pos)
                    if isinstance(value, Keyword):
                        keywords[text] = value  # one object per keyword: histories repeat a dozen of them
            elif kind == "open" or kind == "tag":
                if len(stack) >= MAX_DEPTH:
                    raise self.error(f"nesting deeper than {MAX_DEPTH}", pos)
                token = m.group(kind)
                if kind == "tag":
                    tags += 1
                stack.append((token if kind == "open" else _TAG + token[1:], [], pos))
                continue
            elif kind == "close":
                if not stack:
                    raise self.error(f"unexpected {m.group(kind)!r}", pos)
                if tags and stack[-1][0].startswith(_TAG):
                    raise self.error(f"tag #{stack[-1][0][len(_TAG) :]} without a form", pos)
                opener, items, at = stack.pop()
                value = self.collection(opener, items, at, m.group(kind), pos)
            elif kind == "str":
                value = self.string(m.group(kind), pos)
            else:
                char = m.group(kind)
                raise self.error("unterminated string" if char == '"' else f"unexpected character {char!r}", pos)
            while tags and stack[-1][0].startswith(_TAG):  # a tagged literal is complete with its form
                tags -= 1
                tag = stack.pop()[0][len(_TAG) :]
                value = value if isinstance(value, dict) and "." in tag else Tagged(tag, value)
            if stack:
                stack[-1][1].append(value)
            else:
                yield value, self.line(start)
        if stack:
            opener, _, at = stack[-1]
            if opener.startswith(_TAG):
                raise self.error(f"tag #{opener[len(_TAG) :]} without a form", at)
            raise self.error(f"{opener!r} is never closed", at)

    def collection(self, opener: str, items: list[Any], pos: int, closer: str, close_pos: int) -> Any:
        if closer != _CLOSER[opener]:
            raise self.error(f"{opener!r} closed by {closer!r}", close_pos)
        if opener in "[(":
            return tuple(items)
        if opener == "#{":
            try:
                return frozenset(items)
            except TypeError:
                raise self.error("a set element is not hashable", pos) from None
        if len(items) % 2:
            raise self.error("a map needs an even number of forms", pos)
        try:
            return dict(zip(items[::2], items[1::2], strict=True))
        except TypeError:
            raise self.error("a map key is not hashable", pos) from None

    def atom(self, text: str, pos: int) -> Any:
        if len(text) > MAX_ATOM:
            raise self.error(f"token longer than {MAX_ATOM} characters", pos)
        if text[0] == ":":
            if len(text) == 1:
                raise self.error("empty keyword", pos)
            return Keyword(text[1:])
        if text.isascii() and text.isdigit():
            return int(text)
        if text in ("nil", "true", "false"):
            return None if text == "nil" else text == "true"
        if _INT.fullmatch(text):
            return int(text.rstrip("N"))
        if _FLOAT.fullmatch(text):
            return float(text.rstrip("M"))
        if text[0].isdigit() or text[0] in "\\'`~@^":
            raise self.error(f"malformed token {text!r}", pos)
        return Symbol(text)

    def string(self, text: str, pos: int) -> str:
        body = text[1:-1]
        if "\\" not in body:
            return body
        out: list[str] = []
        i = 0
        while i < len(body):
            c = body[i]
            if c != "\\":
                out.append(c)
                i += 1
                continue
            esc = body[i + 1]
            if esc == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2 : i + 6]):
                out.append(chr(int(body[i + 2 : i + 6], 16)))
                i += 6
            elif esc in _ESCAPES:
                out.append(_ESCAPES[esc])
                i += 2
            else:
                raise self.error(f"unknown string escape \\{esc}", pos)
        return "".join(out)


def read_forms(text: str, source: str) -> Iterator[tuple[Any, int]]:
    """Every top-level form of `text` with the line it starts on; `source` names the file in errors."""
    return _Reader(text, source).forms()


def dumps(value: Any) -> str:
    """EDN text for a value this module can read back (tuples and lists as vectors)."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Keyword):
        return ":" + value
    if isinstance(value, Symbol):
        return str(value)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, tuple | list):
        return "[" + " ".join(dumps(v) for v in value) + "]"
    if isinstance(value, frozenset | set):
        return "#{" + " ".join(dumps(v) for v in value) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{dumps(k)} {dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Tagged):
        return f"#{value.tag} {dumps(value.form)}"
    raise TypeError(f"no EDN form for {type(value).__name__}")
