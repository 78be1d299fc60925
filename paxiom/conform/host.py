"""Serve an in-process adapter over the process protocol: `python -m paxiom.conform.host MODULE:CLASS`.

This is the out-of-process protocol's reference peer: it shows the two plug-in ways are the same contract
(a node reacting to one message at a time), and lets any adapter run as a separate process that the suite
can SIGKILL for real.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from paxiom.conform.adapter import Adapter
from paxiom.conform.messages import Garbage, Input, Propose, Timeout, Wire, from_json, to_json
from paxiom.conform.node import Node, Quorums
from paxiom.conform.targets import describe_exception, load_adapter


def node_from_init(doc: dict[str, Any]) -> Node:
    def quorums(key: str) -> Quorums:
        q = doc["quorums"][key]
        return Quorums(q["size"], tuple(tuple(s) for s in q["sets"]))

    return Node(
        doc["node"],
        doc["role"],
        tuple(doc["acceptors"]),
        tuple(doc["proposers"]),
        tuple(doc["learners"]),
        quorums("phase1"),
        quorums("phase2"),
        Path(doc["data_dir"]),
        doc.get("incarnation", 0),
        doc.get("options", {}),
        Wire(doc.get("variant", "paxos"), doc.get("slots", 1), len(doc.get("configs", [None]))),
        quorums("fast") if "fast" in doc["quorums"] else None,
        tuple(doc.get("fast_rounds", ())),
        {k: doc[k] for k in ("alpha", "configs", "commands") if k in doc} or None,
    )


def parse_input(doc: dict[str, Any], node: Node) -> Input:
    if doc.get("type") == "propose":
        return Propose(str(doc["value"]))
    if doc.get("type") == "timeout":
        return Timeout()
    msg = from_json(doc, node.nodes, node.proposers, node.wire)
    if isinstance(msg, Propose | Timeout) or msg.type == "decision":
        raise Garbage(f"a node is never sent {msg.type}")
    return msg  # type: ignore[return-value]


def serve(cls: type[Adapter]) -> None:
    adapter: Adapter | None = None
    node: Node | None = None
    for line in sys.stdin:
        doc = json.loads(line)
        seq = doc.get("seq")
        try:
            if doc.get("type") == "init":
                node = node_from_init(doc)
                adapter = cls(node)
                out = []
            else:
                assert adapter is not None and node is not None, "init must come first"
                out = list(adapter.handle(parse_input(doc, node)))
        except Garbage as exc:
            print(json.dumps({"type": "error", "seq": seq, "code": "malformed", "text": str(exc)}), flush=True)
            continue
        except Exception as exc:
            print(describe_exception(exc), file=sys.stderr, flush=True)
            sys.exit(70)
        for msg in out:
            print(json.dumps(to_json(msg)))
        print(json.dumps({"type": "done", "seq": seq}), flush=True)


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m paxiom.conform.host MODULE:CLASS")
    serve(load_adapter(sys.argv[1]).cls)


if __name__ == "__main__":
    main()
