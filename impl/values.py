"""What a slot holds: a batch of client commands, or a no-op that fills a hole.

Every command carries its identity — the client (session) that sent it and that client's sequence
number — end to end, so two clients sending the same bytes are two commands, and a retry is recognisable
as one. The core never looks inside `op` and never deduplicates by content: exactly-once is the state
machine's job (client sessions keyed by this identity). The empty batch is the no-op a new leader writes
into slots nobody voted for, so the log has no gaps and later slots can be applied.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Command:
    client: str
    """Client/session id, non-empty."""
    seq: int
    """Per-client sequence number, >= 1."""
    op: bytes
    """Opaque to the core; the state machine interprets it."""

    def __post_init__(self) -> None:
        if not self.client or self.seq < 1:
            raise ValueError(f"a command needs a non-empty client and a seq >= 1, not {self.client!r}#{self.seq}")


Value = tuple[Command, ...]

NOOP: Value = ()

_PLAIN_CLIENT = re.compile(r"[A-Za-z0-9_.\-]+")


OpRenderer = Callable[[bytes], str | None]
"""A state machine's names for its ops: None for bytes it does not know, else a name that starts with a
letter, holds no `, ` or `]` outside JSON strings, and tells distinct ops apart."""
_op_renderers: list[OpRenderer] = []


def render_ops_with(renderer: OpRenderer) -> None:
    """Name ops that are not UTF-8 text by `renderer` where it knows them (e.g. the service KV's msgpack)."""
    if renderer not in _op_renderers:
        _op_renderers.append(renderer)
        render_value.cache_clear()


def render_op(op: bytes) -> str:
    """UTF-8 text quoted as a JSON string; other bytes by a registered renderer, else `0x` and hex (beyond
    32 bytes: the first 16, `...`, the length and `~` a 128-bit digest). The three forms start differently."""
    try:
        return json.dumps(op.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    for renderer in _op_renderers:
        if (shown := renderer(op)) is not None:
            return shown
    if len(op) <= 32:
        return "0x" + op.hex()
    return f"0x{op[:16].hex()}...{len(op)}B~{hashlib.blake2b(op, digest_size=16).hexdigest()}"


def render_command(command: Command) -> str:
    """`c1#3 "set a 1"`: a plain client id is shown bare, any other quoted, and the op as `render_op`
    names it, so distinct commands never render alike."""
    client = command.client if _PLAIN_CLIENT.fullmatch(command.client) else json.dumps(command.client)
    return f"{client}#{command.seq} {render_op(command.op)}"


@functools.lru_cache(maxsize=1 << 14)
def render_value(value: Value) -> str:
    """A readable, unambiguous name for a value (the spec's value domain is strings)."""
    if value == NOOP:
        return "noop"
    return "[" + ", ".join(map(render_command, value)) + "]"


def command_bytes(command: Command) -> int:
    """At least the bytes `command` takes on the wire (msgpack: headers, a client id of up to 4 bytes a
    character, the seq, the op): what batches and catch-up replies are bounded by."""
    return len(command.op) + 4 * len(command.client) + 24


def value_bytes(value: Value) -> int:
    """The commands' bytes; a message holding the batch adds its own headers."""
    return sum(map(command_bytes, value))


def encode_value(value: Value) -> bytes:
    """A length-prefixed encoding of every command's identity and op: distinct values never encode alike
    (used by checksums)."""
    parts = [len(value).to_bytes(4, "big")]
    for command in value:  # joined once: growing a bytearray copied each op two or three times
        client, op = command.client.encode("utf-8", "surrogatepass"), command.op
        parts += (
            len(client).to_bytes(4, "big"),
            client,
            command.seq.to_bytes(8, "big"),
            len(op).to_bytes(4, "big"),
            op,
        )
    return b"".join(parts)
