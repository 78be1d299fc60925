"""`paxiom node --maelstrom`: lin-kv over stdin/stdout, with Maelstrom's error codes, on a real process."""

from __future__ import annotations

import asyncio
import json
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

PAXIOM = str(Path(sys.executable).parent / "paxiom")
REQUESTS: list[dict[str, object]] = [
    {"type": "write", "key": 1, "value": 5},
    {"type": "read", "key": 1},
    {"type": "cas", "key": 1, "from": 4, "to": 6},
    {"type": "cas", "key": 1, "from": 5, "to": 6},
    {"type": "read", "key": 2},
    {"type": "cas", "key": 2, "from": 1, "to": 2},
    {"type": "read", "key": 1},
    {"type": "frobnicate"},
    {"type": "write", "value": 1},
]


def test_single_node_lin_kv_answers_with_maelstrom_codes(tmp_path: Path) -> None:
    node = subprocess.Popen(
        [PAXIOM, "node", "--maelstrom", "--data-dir", str(tmp_path / "d")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert node.stdin is not None and node.stdout is not None

    def call(body: dict[str, object]) -> dict[str, object]:
        """Send one request and wait (at most 20 s) for its reply, as a Maelstrom client does."""
        assert node.stdin is not None and node.stdout is not None
        node.stdin.write(json.dumps({"src": "c1", "dest": "n1", "body": body}).encode() + b"\n")
        node.stdin.flush()
        ready, _, _ = select.select([node.stdout], [], [], 20)
        assert ready, f"no reply to {body}"
        reply = json.loads(node.stdout.readline())
        assert reply["body"]["in_reply_to"] == body["msg_id"]
        return dict(reply["body"])

    try:
        assert call({"type": "init", "msg_id": 1, "node_id": "n1", "node_ids": ["n1"]})["type"] == "init_ok"
        shape = {}
        for i, body in enumerate(REQUESTS, 2):
            reply = call({**body, "msg_id": i})
            shape[i] = (reply["type"], reply.get("code"), reply.get("value"))
    finally:
        node.kill()
        node.wait(10)
    assert shape == {
        2: ("write_ok", None, None),
        3: ("read_ok", None, 5),
        4: ("error", 22, None),
        5: ("cas_ok", None, None),
        6: ("error", 20, None),
        7: ("error", 20, None),
        8: ("read_ok", None, 6),
        9: ("error", 10, None),
        10: ("error", 12, None),
    }


def test_three_nodes_reach_each_other_through_maelstrom_messages(tmp_path: Path) -> None:
    """A minimal Maelstrom network: peer messages routed between the processes, clients at every node."""
    ids = ["n1", "n2", "n3"]

    async def main() -> dict[int, dict[str, Any]]:
        procs = {
            n: await asyncio.create_subprocess_exec(
                PAXIOM,
                "node",
                "--maelstrom",
                "--data-dir",
                str(tmp_path / n),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            for n in ids
        }
        replies: dict[int, dict[str, Any]] = {}
        arrived = asyncio.Event()

        def send(dest: str, message: dict[str, Any]) -> None:
            stdin = procs[dest].stdin
            assert stdin is not None
            stdin.write(json.dumps(message).encode() + b"\n")

        async def route(node: str) -> None:
            stdout = procs[node].stdout
            assert stdout is not None
            while line := await stdout.readline():
                message = json.loads(line)
                if message["dest"] in procs:
                    send(message["dest"], message)
                else:
                    replies[message["body"]["in_reply_to"]] = message["body"]
                    arrived.set()

        async def call(node: str, msg_id: int, body: dict[str, Any]) -> dict[str, Any]:
            send(node, {"src": "c1", "dest": node, "body": {**body, "msg_id": msg_id}})
            while msg_id not in replies:
                arrived.clear()
                await asyncio.wait_for(arrived.wait(), 20)
            return replies[msg_id]

        routers = [asyncio.ensure_future(route(n)) for n in ids]
        try:
            for i, n in enumerate(ids):
                await call(n, 100 + i, {"type": "init", "node_id": n, "node_ids": ids})
            await call("n1", 1, {"type": "write", "key": "x", "value": 1})
            await call("n2", 2, {"type": "cas", "key": "x", "from": 1, "to": 2})
            await call("n3", 3, {"type": "read", "key": "x"})
            await call("n1", 4, {"type": "cas", "key": "x", "from": 1, "to": 3})
            return replies
        finally:
            for proc in procs.values():
                proc.kill()
                await proc.wait()
            for router in routers:
                router.cancel()

    replies = asyncio.run(asyncio.wait_for(main(), 90))
    assert [replies[i]["type"] for i in (1, 2, 3)] == ["write_ok", "cas_ok", "read_ok"]
    assert replies[3]["value"] == 2 and replies[4]["code"] == 22
