"""A process target for the hostile-target tests: it answers `init`, then misbehaves as argv[1] says.

    python tests/hostile_target.py MODE [SEED]

Modes: `silent` never answers init; `digits`, `deep`, `long`, `bytes`, `null-value` answer the first
message after init with one hostile line; `random` writes SEED-determined random lines.
"""

from __future__ import annotations

import json
import random
import sys

HOSTILE = {
    "digits": lambda: '{"type": "promise", "ballot": [' + "9" * 5000 + ', "p1"]}',
    "deep": lambda: "[" * 100_000 + "]" * 100_000,
    "long": lambda: '"' + "x" * (2 << 20) + '"',
    "bytes": lambda: "\udcff\udcfe not utf-8",
}


def random_line(rng: random.Random) -> str:
    kinds = [
        lambda: json.dumps({"type": rng.choice(["promise", "accept", "nack", "x", None]), "ballot": rng.random()}),
        lambda: "[" * rng.randrange(1, 50_000),
        lambda: str(rng.randrange(10 ** rng.randrange(1, 6000))),
        lambda: json.dumps({"type": "done", "seq": rng.randrange(-5, 5)}),
        lambda: "".join(chr(rng.randrange(1, 0x2FF)) for _ in range(rng.randrange(0, 200))),
        lambda: json.dumps(
            {
                "type": "accepted",
                "from": "a1",
                "to": "p1",
                "ballot": [rng.randrange(2**70), "p1"],
                "value": rng.choice([None, 1, "v1", [], {}]),
            }
        ),
    ]
    return rng.choice(kinds)()


def main() -> None:
    mode = sys.argv[1]
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        msg = json.loads(line)
        if msg["type"] == "init":
            if mode == "silent":
                continue
            out.write(json.dumps({"type": "done", "seq": msg["seq"]}).encode() + b"\n")
        elif mode == "null-value":
            answer = {"type": "accepted", "from": msg["to"], "to": msg["from"], "ballot": msg["ballot"], "value": None}
            out.write(json.dumps(answer).encode() + b"\n")
        elif mode == "random":
            for _ in range(rng.randrange(1, 3)):
                out.write(random_line(rng).encode("utf-8", "surrogateescape") + b"\n")
        else:
            out.write(HOSTILE[mode]().encode("utf-8", "surrogateescape") + b"\n")
        out.flush()


if __name__ == "__main__":
    main()
