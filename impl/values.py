"""What a slot holds: a batch of opaque client commands, or a no-op that fills a hole.

A value is a tuple of commands (bytes); the empty tuple is the no-op a new leader writes into slots
nobody voted for, so the log has no gaps and later slots can be applied.
"""

from __future__ import annotations

import functools

Command = bytes
Value = tuple[Command, ...]

NOOP: Value = ()


@functools.lru_cache(maxsize=1 << 14)
def render_value(value: Value) -> str:
    """A readable, unambiguous name for a value (the spec's value domain is strings)."""
    if value == NOOP:
        return "noop"
    return "[" + ", ".join(command.decode("utf-8", "backslashreplace") for command in value) + "]"


def encode_value(value: Value) -> bytes:
    """A length-prefixed encoding: distinct values never encode alike (used by checksums)."""
    out = bytearray(len(value).to_bytes(4, "big"))
    for command in value:
        out += len(command).to_bytes(4, "big") + command
    return bytes(out)
