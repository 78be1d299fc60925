"""`acceptor_v2.py`, `proposer_v2.py` and `learner_v2.py` in process: the same nodes, their JSON handlers
behind an `Adapter`.

    paxiom conform --variant multipaxos --adapter examples/conformance/acceptor_v2_inprocess.py:InProcess
    paxiom conform --variant fastpaxos --role learner --adapter examples/conformance/acceptor_v2_inprocess.py:InProcess

The process costs a Python start-up per node start (two per acceptor schedule); in process a schedule costs
milliseconds, which is what lets the tests search hundreds of schedules per mutant. The wire format is the
same: canonical messages go in as their protocol JSON (`to_json`) and what the acceptor writes is parsed as
strictly as a process's lines are.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from paxiom.conform import Adapter, Input, Node, Output
from paxiom.conform.messages import from_json, to_json

HERE = str(Path(__file__).resolve().parent)
sys.path.insert(0, HERE)  # only while the siblings import: a process that loads this adapter keeps its import path
try:
    import acceptor_v2  # beside this file, stdlib only
    import learner_v2
    import proposer_v2
finally:
    sys.path.remove(HERE)

MUTANTS = {**acceptor_v2.MUTANTS, **proposer_v2.MUTANTS, **learner_v2.MUTANTS}
STARTS: dict[str, Callable[[dict[str, Any]], acceptor_v2.Handler]] = {
    "acceptor": acceptor_v2.start,
    "proposer": proposer_v2.start,
    "learner": learner_v2.start,
}


class InProcess(Adapter):
    roles = frozenset(STARTS)

    @classmethod
    def check_options(cls, options: Mapping[str, str]) -> None:
        if unknown := sorted(set(options) - {"mutant"}):
            raise ValueError(f"unknown option {unknown[0]!r}; this adapter knows only mutant=NAME")
        if "mutant" in options and options["mutant"] not in MUTANTS:
            raise ValueError(f"no mutant {options['mutant']!r}; known: {', '.join(MUTANTS)}")

    def __init__(self, node: Node) -> None:
        super().__init__(node)
        self.handler: acceptor_v2.Handler = STARTS[node.role](node.init_json())

    def handle(self, msg: Input) -> list[Output]:
        node = self.node
        return [from_json(o, node.nodes, node.proposers, node.wire) for o in self.handler.handle(to_json(msg))]
