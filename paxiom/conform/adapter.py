"""The in-process plug-in: subclass `Adapter` to put a Python Paxos library under test.

An adapter is built once per incarnation of a node: `__init__(node)` at start and again after every
simulated crash, on the same `node.data_dir`. It must restore from that directory whatever the library
needs to keep its promises (use `load`/`save`, which write atomically), and `handle` must persist before it
returns messages that depend on it — the suite drops the object without warning to simulate SIGKILL.
"""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from paxiom.conform.messages import Input, Output
from paxiom.conform.node import Node


class Adapter(ABC):
    """Maps paxiom's canonical messages to a library's calls and back, for one node."""

    roles: ClassVar[frozenset[str]] = frozenset()
    """The init roles this adapter can play: acceptor, proposer, learner, node (all three)."""

    STATE_FILE: ClassVar[str] = "state.json"

    def __init__(self, node: Node) -> None:
        self.node = node

    @classmethod
    def check_options(cls, options: Mapping[str, str]) -> None:
        """Raise ValueError naming any `--option KEY=VALUE` this adapter does not understand: the suite
        calls it once, before any run, so a typo is a usage error (exit 2) rather than a crash of every node.
        The default accepts everything."""
        del options

    @abstractmethod
    def handle(self, msg: Input) -> Iterable[Output]:
        """Deliver one message or control input; return every message the node sends in reaction."""

    def load(self) -> Any:
        """What `save` last stored in the data directory, or None on a fresh start."""
        path = self.node.data_dir / self.STATE_FILE
        return json.loads(path.read_text()) if path.exists() else None

    def save(self, doc: Any) -> None:
        """Store `doc` as JSON in the data directory, atomically (write, rename). The suite's crashes are
        SIGKILLs, which lose nothing already written, so no fsync is needed to pass; a real deployment also
        needs one before answering (power loss), which the suite does not simulate."""
        path = self.node.data_dir / self.STATE_FILE
        tmp = path.with_suffix(".tmp")
        with tmp.open("w") as f:
            json.dump(doc, f)
        os.replace(tmp, path)
