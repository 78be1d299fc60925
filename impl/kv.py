"""A tiny key-value state machine for tests and demos.

A command's `op` is UTF-8 text: `set KEY VALUE`, `get KEY`, `del KEY`; anything else is applied as a no-op
and answered `error: ...`, because a replicated log must apply every chosen command deterministically. It
keeps no client sessions (a retried command applies twice): the service's KV in `paxiom.node` does.
"""

from __future__ import annotations

import json

from paxiom.impl.values import Command


class KeyValueStore:
    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def apply(self, command: Command) -> bytes:
        op, _, rest = command.op.decode("utf-8", "replace").partition(" ")
        key, _, value = rest.partition(" ")
        if op == "set" and key:
            self.data[key] = value
            return b"ok"
        if op == "get" and key:
            return self.data.get(key, "").encode()
        if op == "del" and key:
            return b"ok" if self.data.pop(key, None) is not None else b"missing"
        return b"error: unknown command " + command.op[:40]

    def snapshot(self) -> bytes:
        return json.dumps(self.data, sort_keys=True, separators=(",", ":")).encode()

    def restore(self, state: bytes) -> None:
        loaded = json.loads(state)
        if not isinstance(loaded, dict):
            raise ValueError("a key-value snapshot must be a JSON object")
        self.data = {str(k): str(v) for k, v in loaded.items()}
