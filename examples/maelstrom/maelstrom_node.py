"""A tiny Maelstrom node runtime shared by the example targets (stdlib only).

One thread: lines from stdin are dispatched to handlers by body type; timers run between them. `rpc`
remembers a callback per msg_id; a reply whose in_reply_to is unknown (late, duplicated) is dropped.
Logs go to stderr, which the harness keeps per node.
"""

from __future__ import annotations

import heapq
import json
import os
import selectors
import sys
import time
from collections.abc import Callable
from typing import Any

Body = dict[str, Any]
Msg = dict[str, Any]


class Node:
    def __init__(self) -> None:
        self.node_id = ""
        self.node_ids: list[str] = []
        self.handlers: dict[str, Callable[[Msg], None]] = {}
        self.on_init: Callable[[], None] = lambda: None
        self._next_id = 0
        self._callbacks: dict[int, Callable[[Body], None]] = {}
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._timer_seq = 0

    def on(self, kind: str) -> Callable[[Callable[[Msg], None]], Callable[[Msg], None]]:
        def register(handler: Callable[[Msg], None]) -> Callable[[Msg], None]:
            self.handlers[kind] = handler
            return handler

        return register

    def log(self, text: str) -> None:
        print(f"{self.node_id or '?'}: {text}", file=sys.stderr, flush=True)

    def send(self, dest: str, body: Body) -> None:
        sys.stdout.write(json.dumps({"src": self.node_id, "dest": dest, "body": body}) + "\n")
        sys.stdout.flush()

    def reply(self, msg: Msg, body: Body) -> None:
        self.send(msg["src"], {**body, "in_reply_to": msg["body"].get("msg_id")})

    def error(self, msg: Msg, code: int, text: str) -> None:
        self.reply(msg, {"type": "error", "code": code, "text": text})

    def rpc(self, dest: str, body: Body, callback: Callable[[Body], None]) -> int:
        self._next_id += 1
        self._callbacks[self._next_id] = callback
        self.send(dest, {**body, "msg_id": self._next_id})
        return self._next_id

    def forget(self, msg_id: int) -> None:
        self._callbacks.pop(msg_id, None)

    def after(self, seconds: float, fn: Callable[[], None]) -> None:
        self._timer_seq += 1
        heapq.heappush(self._timers, (time.monotonic() + seconds, self._timer_seq, fn))

    def every(self, seconds: float, fn: Callable[[], None]) -> None:
        def tick() -> None:
            fn()
            self.after(seconds, tick)

        self.after(seconds, tick)

    def _dispatch(self, msg: Msg) -> None:
        body = msg["body"]
        if body["type"] == "init":
            self.node_id, self.node_ids = body["node_id"], list(body["node_ids"])
            self.on_init()
            self.reply(msg, {"type": "init_ok"})
            return
        if not self.node_id:
            return  # Maelstrom sends init first; anything earlier is a peer racing our init
        callback = self._callbacks.pop(body.get("in_reply_to", -1), None)
        if callback is not None:
            callback(body)
        elif "in_reply_to" not in body:
            handler = self.handlers.get(body["type"])
            if handler is None:
                self.error(msg, 10, f"unsupported: {body['type']}")
            else:
                handler(msg)

    def run(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(sys.stdin.fileno(), selectors.EVENT_READ)
        pending = b""
        while True:
            now = time.monotonic()
            while self._timers and self._timers[0][0] <= now:
                heapq.heappop(self._timers)[2]()
            wait = max(0.0, self._timers[0][0] - time.monotonic()) if self._timers else None
            if not selector.select(wait):
                continue
            chunk = os.read(sys.stdin.fileno(), 1 << 16)
            if not chunk:
                return
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if line.strip():
                    self._dispatch(json.loads(line))
