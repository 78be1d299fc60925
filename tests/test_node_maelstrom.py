"""`paxiom node --maelstrom`: lin-kv over stdin/stdout, with Maelstrom's error codes, on a real process."""

from __future__ import annotations

import json
import select
import subprocess
import sys
from pathlib import Path

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
