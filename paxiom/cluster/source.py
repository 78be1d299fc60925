"""Where things are in a cluster file, so every error can say `file:line:col`.

`tomllib` returns plain values without positions, so this module finds keys, array items and string
contents in the raw text. It understands the subset of TOML a cluster file uses (tables, `key = value`,
quoted keys, arrays and strings spanning lines); when it cannot find something it falls back to the
enclosing table's header, then to the start of the file — an error is never left without a place.
"""

from __future__ import annotations

import re

from paxiom.inputs import Source

_TABLE = re.compile(r"""^\s*\[\s*("?)([^\]"]+)\1\s*\]\s*(#.*)?$""")
_KEY = re.compile(r"""^\s*(?:"([^"]*)"|'([^']*)'|([A-Za-z0-9_.-]+))\s*=""")
_TOML_ERROR = re.compile(r"^(?P<msg>.*) \(at line (?P<line>\d+), column (?P<col>\d+)\)$")


class SourceIndex:
    """Positions of tables, keys and values in one cluster file's text."""

    def __init__(self, src: Source) -> None:
        self.src = src
        self.path = src.path
        self.text = src.text
        self._tables: dict[str, int] = {}
        self._keys: dict[tuple[str, str], int] = {}
        self._scan()

    def _scan(self) -> None:
        table = ""
        start = 0
        for line in self.text.split("\n"):
            line_start, start = start, start + len(line) + 1
            header = _TABLE.match(line)
            if header:
                table = header.group(2).strip()
                self._tables.setdefault(table, line_start + line.index("["))
                continue
            key = _KEY.match(line)
            if key:
                name = next(g for g in key.groups() if g is not None)
                self._keys.setdefault((table, name), line_start + len(line) - len(line.lstrip()))

    def where(self, offset: int) -> str:
        return self.src.where(offset)

    def table_offset(self, table: str) -> int:
        return self._tables.get(table, 0)

    def key_offset(self, table: str, key: str) -> int:
        """Where `key` is defined inside `table` ("" is the top level)."""
        if (table, key) in self._keys:
            return self._keys[table, key]
        return self.table_offset(table)

    def value_offset(self, table: str, key: str) -> int:
        """Where the value of `key` begins (the opening quote or bracket)."""
        if (table, key) not in self._keys:
            return self.table_offset(table)
        start = self._keys[table, key]
        eq = self.text.index("=", start)
        return eq + 1 + len(self.text[eq + 1 :]) - len(self.text[eq + 1 :].lstrip(" \t"))

    def item_offset(self, table: str, key: str, item: str, occurrence: int = 1) -> int:
        """Where the quoted string `item` appears (the n-th time) in the value of `key`, e.g. a name in a list."""
        found = start = self.value_offset(table, key)
        for _ in range(occurrence):
            hits = [i for q in ('"', "'") if (i := self.text.find(f"{q}{item}{q}", start)) >= 0]
            if not hits:
                break
            found = min(hits)
            start = found + 1
        return found

    def inline_key_offset(self, table: str, key: str, inner: str) -> int:
        """Where `inner` is defined in the value of `key`: in an inline table `key = { inner = 1 }`, or as a line
        of the sub-table `[table.key]`; else where `key` is."""
        if (f"{table}.{key}", inner) in self._keys:
            return self._keys[f"{table}.{key}", inner]
        start = self.value_offset(table, key)
        end = self.text.find("}", start)
        quoted = re.escape(inner)
        pattern = re.compile(rf"""(?:^|[{{,\s])((?:"{quoted}"|'{quoted}'|{quoted})\s*=)""")
        found = pattern.search(self.text, start, end if end >= 0 else len(self.text))
        return found.start(1) if found else self.key_offset(table, key)

    def string_content_offset(self, table: str, key: str) -> int:
        """Where the characters of the string value of `key` begin (after the quote(s))."""
        start = self.value_offset(table, key)
        for quote in ('"""', "'''", '"', "'"):
            if self.text.startswith(quote, start):
                start += len(quote)
                if len(quote) == 3 and self.text.startswith("\n", start):
                    start += 1
                return start
        return start

    def toml_error_where(self, message: str) -> tuple[str, str]:
        """Split a tomllib error message into (message, file:line:col)."""
        if message.endswith(" (at end of document)"):
            return message.removesuffix(" (at end of document)"), self.where(len(self.text))
        found = _TOML_ERROR.match(message)
        if not found:
            return message, self.path
        return found["msg"], f"{self.path}:{found['line']}:{found['col']}"
