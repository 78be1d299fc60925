#!/usr/bin/env python3
"""A correct lin-kv node: a fixed primary with majority-acknowledged, fsynced replication.

Every request goes to the primary (node_ids[0]); other nodes forward. The primary runs one update at a
time: it writes the new state to its data directory (fsync), ships the whole state to the backups, and
replies once a majority (itself included) holds it durably. Reads see only committed state, so a read
never returns what a later recovery could lose. Forwarded updates carry a unique id kept in the state, so
a duplicated forward is answered from the record instead of being applied twice.

Restarts: with its data directory intact the primary re-commits what it has before serving; with it
wiped it first collects every backup's state and takes the newest (a committed state is on a majority,
so on at least one backup). Until then it answers 11 (temporarily unavailable), which is definite.

State directory: $MAELSTROM_DATA_DIR or argv[1]; without one the node keeps state in memory only.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from maelstrom_node import Body, Msg, Node

State = dict[str, Any]  # {"version": int, "kv": {str key: value}, "done": {request id: [version, reply]}}
KEEP_DONE = 500  # duplicates arrive within a few hundred ms; older dedup records are dropped


def empty() -> State:
    return {"version": 0, "kv": {}, "done": {}}


class Store:
    """The state as one JSON file, replaced atomically and fsynced (file and directory)."""

    def __init__(self, directory: str | None) -> None:
        self.directory = directory

    def load(self) -> State | None:
        if self.directory is None:
            return None
        try:
            with open(os.path.join(self.directory, "state.json"), encoding="utf-8") as f:
                state: State = json.load(f)
                return state
        except FileNotFoundError:
            return None

    def save(self, state: State) -> None:
        if self.directory is None:
            return
        os.makedirs(self.directory, exist_ok=True)
        path = os.path.join(self.directory, "state.json")
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(path + ".tmp", path)
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def execute(kv: dict[str, Any], body: Body) -> tuple[Body, dict[str, Any] | None]:
    """The reply to an update and the new map (None: unchanged)."""
    key = str(body["key"])
    if body["type"] == "write":
        return {"type": "write_ok"}, {**kv, key: body["value"]}
    if key not in kv:
        return {"type": "error", "code": 20, "text": "no such key"}, None
    if kv[key] != body["from"]:
        return {"type": "error", "code": 22, "text": f"expected {body['from']}, have {kv[key]}"}, None
    return {"type": "cas_ok"}, {**kv, key: body["to"]}


class PrimaryKV:
    REPLICATE_EVERY = 0.1  # seconds between pushes of the newest state to lagging backups

    def __init__(self, node: Node, store: Store) -> None:
        self.node = node
        self.store = store
        self.state = empty()  # newest durable state (on the primary possibly not yet committed)
        self.committed: State | None = None  # primary only: what reads see; None while not ready
        self.queue: list[tuple[str | None, Body, Callable[[Body], None]]] = []
        self.inflight: tuple[int, Callable[[Body], None] | None, Body | None] | None = None
        self.acked: dict[str, int] = {}  # backup -> the version it last reported holding
        self.recovered: dict[str, State] | None = None  # wiped primary: backups' states collected so far
        self.heard: dict[str, float] = {}  # node -> when it last replicated to us
        self.ticks = 0
        node.on_init = self.start
        for kind in ("read", "write", "cas"):
            node.on(kind)(self.on_client)
        node.on("forward")(self.on_forward)
        node.on("replicate")(self.on_replicate)
        node.on("recover")(self.on_recover)

    # --- roles ---------------------------------------------------------------------------------------------

    @property
    def primary(self) -> str:
        return self.node.node_ids[0]

    def is_primary(self) -> bool:
        return self.primary == self.node.node_id

    def backups(self) -> list[str]:
        return [n for n in self.node.node_ids if n != self.node.node_id]

    def acks_needed(self) -> int:
        return len(self.node.node_ids) // 2  # backups which, with the primary, make a majority

    def recall(self) -> State | None:
        """The state found on disk at start (None: nothing there)."""
        return self.store.load()

    def start(self) -> None:
        loaded = self.recall()
        self.state = loaded if loaded is not None else empty()
        self.node.log(f"start: version {self.state['version']} ({'from disk' if loaded else 'empty'})")
        if self.is_primary():
            if loaded is None and self.backups():
                self.recovered = {}
                self.ask_recovery()
            else:
                self.begin(self.state["version"], None, None)
        self.node.every(self.REPLICATE_EVERY, self.tick)

    # --- clients -------------------------------------------------------------------------------------------

    def on_client(self, msg: Msg) -> None:
        body = {k: v for k, v in msg["body"].items() if k != "msg_id"}
        respond: Callable[[Body], None] = lambda reply: self.node.reply(msg, reply)  # noqa: E731
        if self.is_primary():
            self.submit(None, body, respond)
            return
        forward = {"type": "forward", "id": os.urandom(12).hex(), "request": body}
        self.node.rpc(self.primary, forward, lambda r: respond({k: v for k, v in r.items() if k != "in_reply_to"}))

    def on_forward(self, msg: Msg) -> None:
        body = msg["body"]
        if not self.is_primary():
            self.node.error(msg, 11, "not the primary")
            return
        self.submit(body["id"], body["request"], lambda reply: self.node.reply(msg, reply))

    def submit(self, req_id: str | None, body: Body, respond: Callable[[Body], None]) -> None:
        if self.committed is None:
            respond({"type": "error", "code": 11, "text": "recovering"})
        elif body["type"] == "read":
            respond(self.read(self.committed, body))
        else:
            self.queue.append((req_id, body, respond))
            self.pump()

    @staticmethod
    def read(state: State, body: Body) -> Body:
        key = str(body["key"])
        if key not in state["kv"]:
            return {"type": "error", "code": 20, "text": "no such key"}
        return {"type": "read_ok", "value": state["kv"][key]}

    # --- the primary's update pipeline ---------------------------------------------------------------------

    def pump(self) -> None:
        """Start the next queued update unless one is being committed."""
        while self.committed is not None and self.inflight is None and self.queue:
            req_id, body, respond = self.queue.pop(0)
            done = self.committed["done"]
            if req_id is not None and req_id in done:
                respond(done[req_id][1])
                continue
            reply, kv = execute(self.committed["kv"], body)
            if kv is None and req_id is None:
                respond(reply)  # nothing changes and nothing to remember
                continue
            version = self.committed["version"] + 1
            keep = {r: d for r, d in done.items() if d[0] > version - KEEP_DONE}
            if req_id is not None:
                keep[req_id] = [version, reply]
            self.state = {"version": version, "kv": self.committed["kv"] if kv is None else kv, "done": keep}
            self.store.save(self.state)
            self.begin(version, respond, reply)

    def begin(self, version: int, respond: Callable[[Body], None] | None, reply: Body | None) -> None:
        self.inflight = (version, respond, reply)
        self.replicate()
        self.maybe_commit()

    def replicate(self) -> None:
        for b in self.backups():
            if self.acked.get(b, -1) < self.state["version"]:
                self.send_state(b)

    def send_state(self, backup: str) -> None:
        def on_ack(reply: Body) -> None:
            self.acked[backup] = reply["version"]
            self.maybe_commit()

        self.node.rpc(backup, {"type": "replicate", "state": self.state}, on_ack)

    def maybe_commit(self) -> None:
        if self.inflight is None:
            return
        version, respond, reply = self.inflight
        if sum(1 for v in self.acked.values() if v >= version) < self.acks_needed():
            return
        self.inflight = None
        self.committed = self.state
        if respond is not None and reply is not None:
            respond(reply)
        self.pump()

    def tick(self) -> None:
        self.ticks += 1
        if not self.is_primary():
            return
        if self.recovered is not None:
            self.ask_recovery()
        elif self.ticks % 3 == 0:
            for b in self.backups():  # also refreshes acked for a backup that lost its state
                self.send_state(b)
        else:
            self.replicate()

    # --- recovery of a wiped primary -----------------------------------------------------------------------

    def ask_recovery(self) -> None:
        assert self.recovered is not None
        for b in self.backups():
            if b not in self.recovered:
                self.node.rpc(b, {"type": "recover"}, lambda reply, b=b: self.on_recovered(b, reply["state"]))

    def on_recovered(self, backup: str, state: State) -> None:
        if self.recovered is None:
            return
        self.recovered[backup] = state
        if len(self.recovered) < len(self.backups()):
            return
        self.state = max(self.recovered.values(), key=lambda s: int(s["version"]))
        self.recovered = None
        self.store.save(self.state)
        self.node.log(f"recovered version {self.state['version']} from the backups")
        self.begin(self.state["version"], None, None)

    # --- backups -------------------------------------------------------------------------------------------

    def on_replicate(self, msg: Msg) -> None:
        self.heard[msg["src"]] = time.monotonic()
        if self.is_primary():
            return
        state = msg["body"]["state"]
        if state["version"] > self.state["version"]:
            self.store.save(state)
            self.state = state
        self.node.reply(msg, {"type": "replicate_ok", "version": self.state["version"]})

    def on_recover(self, msg: Msg) -> None:
        self.node.reply(msg, {"type": "recover_ok", "state": self.state})


def main(kind: type[PrimaryKV] = PrimaryKV) -> None:
    directory = os.environ.get("MAELSTROM_DATA_DIR") or (sys.argv[1] if len(sys.argv) > 1 else None)
    node = Node()
    kind(node, Store(directory))
    if directory is None:
        node.log("no data directory: state is kept in memory only")
    node.run()


if __name__ == "__main__":
    main()
