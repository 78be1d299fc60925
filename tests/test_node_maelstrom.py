"""`paxiom node --maelstrom`: lin-kv over stdin/stdout, with Maelstrom's error codes, on a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PAXIOM = str(Path(sys.executable).parent / "paxiom")
REQUESTS = [
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
    init = {"src": "c0", "dest": "n1", "body": {"type": "init", "msg_id": 1, "node_id": "n1", "node_ids": ["n1"]}}
    lines = [json.dumps(init)] + [
        json.dumps({"src": "c1", "dest": "n1", "body": {**body, "msg_id": i}}) for i, body in enumerate(REQUESTS, 2)
    ]
    script = "import sys, time; [print(l, flush=True) or time.sleep(0.05) for l in sys.argv[1:]]; time.sleep(3)"
    feeder = subprocess.Popen([sys.executable, "-c", script, *lines], stdout=subprocess.PIPE)
    try:
        out = subprocess.run(
            [PAXIOM, "node", "--maelstrom", "--data-dir", str(tmp_path / "d")],
            stdin=feeder.stdout,
            capture_output=True,
            timeout=60,
            check=True,
        ).stdout
    finally:
        feeder.kill()
        feeder.wait()
    replies = {m["body"]["in_reply_to"]: m["body"] for m in map(json.loads, out.decode().splitlines())}
    assert replies[1]["type"] == "init_ok"
    shape = {i: (b["type"], b.get("code"), b.get("value")) for i, b in replies.items() if i > 1}
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
