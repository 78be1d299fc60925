"""Maelstrom's wire format: one JSON object per line, `{"src", "dest", "body": {"type", ...}}`.

Error codes and whether they are definite (the operation certainly did not happen) follow Maelstrom's
protocol document; a code it does not list (including the custom range >= 1000) is indefinite.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

ERRORS: dict[int, tuple[str, bool]] = {  # code -> (name, definite)
    0: ("timeout", False),
    1: ("node-not-found", True),
    10: ("not-supported", True),
    11: ("temporarily-unavailable", True),
    12: ("malformed-request", True),
    13: ("crash", False),
    14: ("abort", True),
    20: ("key-does-not-exist", True),
    21: ("key-already-exists", True),
    22: ("precondition-failed", True),
    30: ("txn-conflict", True),
}
RETRY_ELSEWHERE = frozenset((1, 11))  # definite, and about this node rather than the operation
MAX_LINE = 1 << 20  # a longer line from a node is garbage, not something to buffer forever


def error_name(code: int) -> str:
    return ERRORS.get(code, (f"error-{code}", False))[0]


def is_definite(code: int) -> bool:
    return ERRORS.get(code, ("", False))[1]


@dataclass(frozen=True, slots=True)
class Message:
    src: str
    dest: str
    body: dict[str, Any]
    sender: str = ""  # the node whose stdout carried it ("" for the harness's own); src may differ: a node
    # may pass a client's request on unchanged, as Maelstrom's Raft demo does, and Maelstrom allows it

    @property
    def origin(self) -> str:
        return self.sender or self.src

    def line(self) -> bytes:
        return (
            json.dumps({"src": self.src, "dest": self.dest, "body": self.body}, separators=(",", ":")) + "\n"
        ).encode()


class Garbage(ValueError):
    """A line that is not a Maelstrom message; the text says what is wrong with it."""


def parse(line: bytes, sender: str) -> Message:
    """Decode one line a node wrote; raise Garbage when it breaks the protocol."""
    try:
        doc = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Garbage(f"not JSON ({exc})") from None
    except RecursionError:
        raise Garbage("JSON nested too deeply") from None
    if not isinstance(doc, dict):
        raise Garbage(f"a JSON {type(doc).__name__}, not an object")
    src, dest, body = doc.get("src"), doc.get("dest"), doc.get("body")
    if not isinstance(src, str) or not src:
        raise Garbage("no string src")
    if not isinstance(dest, str):
        raise Garbage("no string dest")
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        raise Garbage("no body object with a string type")
    for field in ("msg_id", "in_reply_to"):
        if field in body and (isinstance(body[field], bool) or not isinstance(body[field], int)):
            raise Garbage(f"{field} is not an integer")
    return Message(src, dest, body, sender)
