"""Checking a real run offline: merge per-node JSON-lines traces in causal order and run the oracle.

A run of N processes leaves N trace files (`*.jsonl`), each the `impl.observe` records of one node in
the order that node produced them, across its restarts. `merge` interleaves them into one causal order:
each node's own order, and every `Receive` after the `Sent` it names (a `Receive` without an id, or of a
message from outside the traces, is not held back). Any such interleaving is a possible history of the
run, so the refinement oracle (`impl.oracle`) judges it as it judges the simulator, record by record.

Defects of the traces themselves are `PaxiomError`s naming the file, line and field (exit 2 at the CLI);
an objection of the oracle names the record it was raised at.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from paxiom.errors import PaxiomError
from paxiom.impl.fast.oracle import FastRefinementOracle
from paxiom.impl.messages import Accept
from paxiom.impl.objection import Objection
from paxiom.impl.observe import MsgId, ObservationError, Receive, Record, Sent, Start, from_json
from paxiom.impl.oracle import RefinementOracle
from paxiom.impl.reconfig import encode_config, over, switch_of
from paxiom.impl.reconfig_oracle import CheapOracle, ReconfigOracle
from paxiom.impl.statemachine import StateMachine
from paxiom.inputs import read_lines
from paxiom.spec.quorums import QuorumSystem

MAX_LINE = 1 << 24
"""Longest trace line read, in bytes (a snapshot's state is the biggest thing a record carries)."""


@dataclass(frozen=True)
class Located:
    file: Path
    line: int
    record: Record

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class Verdict:
    records: int
    nodes: tuple[str, ...]
    transitions: int
    actions_matched: int
    objection: Objection | None = None
    at: Located | None = None
    """The record whose transition the oracle objected to (its last record fed before the objection)."""
    spec: str = "multipaxos"
    """The spec the oracle judged by (`RefinementOracle.spec_name`)."""

    @property
    def holds(self) -> bool:
        return self.objection is None


def read_trace(path: Path) -> list[Located]:
    """One node's records; a malformed line is a PaxiomError naming file, line and field."""
    out: list[Located] = []
    node: int | None = None
    for number, text in read_lines(path, max_line=MAX_LINE):
        where = f"{path}:{number}"
        if not text.strip():
            continue
        try:
            record = from_json(json.loads(text))
        except json.JSONDecodeError as exc:
            raise PaxiomError(f"not valid JSON: {exc.msg}", where=f"{where}:{exc.colno}") from None
        except ObservationError as exc:
            raise PaxiomError(str(exc), where=where) from None
        if node is not None and record.node != node:
            raise PaxiomError(f"field record.node: {record.node}, but this file is node {node}'s", where=where)
        node = record.node
        out.append(Located(path, number, record))
    return out


def read_dir(directory: Path) -> list[list[Located]]:
    if not directory.is_dir():
        raise PaxiomError("not a directory of traces", where=str(directory))
    files = sorted(directory.glob("*.jsonl"))
    if not files:
        raise PaxiomError("no trace files (*.jsonl) here", where=str(directory))
    return [trace for trace in map(read_trace, files) if trace]


def _starts(traces: list[list[Located]]) -> list[tuple[Located, Start]]:
    return [(item, item.record) for trace in traces for item in trace if isinstance(item.record, Start)]


def quorums_of(traces: list[list[Located]]) -> QuorumSystem:
    """The initial quorum system every `Start` record names (they must all agree), over the longest node
    list they name: a node a reconfiguration added starts with the list extended by itself (`impl.reconfig`)."""
    starts = _starts(traces)
    if not starts:
        raise PaxiomError("no Start record in any trace: the quorum system is unknown", where=str(traces[0][0].file))
    longest, first = max(starts, key=lambda pair: len(pair[1].nodes))
    try:
        quorums = first.quorums()
        for item, start in starts:
            if quorums.nodes[: len(start.nodes)] != start.nodes:
                raise PaxiomError(f"field record.nodes: nodes other than {longest.where}'s", where=item.where)
            if encode_config(over(start.quorums(), quorums.nodes)) != encode_config(quorums):
                raise PaxiomError(
                    f"field record.phase1: a quorum system other than {longest.where}'s", where=item.where
                )
            if sorted(start.fast) != sorted(first.fast):  # a set of quorums, as phase 1's is compared
                raise PaxiomError(f"field record.fast: fast quorums other than {longest.where}'s", where=item.where)
            if start.auxiliaries != first.auxiliaries:
                raise PaxiomError(
                    f"field record.auxiliaries: auxiliaries other than {longest.where}'s", where=item.where
                )
    except ValueError as exc:
        raise PaxiomError(f"field record.nodes: {exc}", where=longest.where) from None
    return quorums


def oracle_for(traces: list[list[Located]], reference: Callable[[], StateMachine] | None) -> RefinementOracle:
    """The oracle of these traces: `spec/fastpaxos.py`'s when their nodes name fast quorums (a Fast Paxos
    cluster, which does not reconfigure), `spec/cheap.py`'s when they name auxiliaries (an auxiliary's vote
    for an ordinary command is then judged even in a run that never switches), `spec/reconfig.py`'s when
    they propose a configuration change and their nodes name the window α, else Multi-Paxos's."""
    quorums = quorums_of(traces)
    if quorums.fast is not None:
        return FastRefinementOracle(quorums, reference=reference)
    first, start = _starts(traces)[0]
    if start.auxiliaries:
        return _cheap_oracle(first, start, _alpha(traces), quorums, reference)
    switching = any(
        isinstance(item.record, Sent)
        and isinstance(item.record.envelope.msg, Accept)
        and switch_of(item.record.envelope.msg.value) is not None
        for trace in traces
        for item in trace
    )
    alpha = _alpha(traces) if switching else 0
    if not alpha:
        return RefinementOracle(quorums, reference=reference)
    return ReconfigOracle(quorums, alpha, reference=reference)


def _alpha(traces: list[list[Located]]) -> int:
    """The one window α every node runs."""
    alphas = {start.alpha for _, start in _starts(traces)}
    if len(alphas) > 1:
        item = next(item for item, start in _starts(traces) if start.alpha != min(alphas))
        raise PaxiomError(f"field record.alpha: nodes run different windows {sorted(alphas)}", where=item.where)
    return alphas.pop()


def _cheap_oracle(
    item: Located, start: Start, alpha: int, quorums: QuorumSystem, reference: Callable[[], StateMachine] | None
) -> CheapOracle:
    """Cheap's oracle over configuration 0, whose mains are the first acceptors and auxiliaries the rest
    (`spec/cheap.py`): a node naming other auxiliaries runs a layout cheap has no configuration for."""
    if not alpha:
        raise PaxiomError("field record.alpha: a Cheap Paxos node runs a window α > 0", where=item.where)
    mains = quorums.n - len(start.auxiliaries)
    if start.auxiliaries != tuple(range(mains, quorums.n)):
        names = [quorums.nodes[a] for a in start.auxiliaries if a < quorums.n]
        raise PaxiomError(
            f"field record.auxiliaries: {names} are not the last {len(start.auxiliaries)} acceptors, "
            "which spec/cheap.py's auxiliaries are",
            where=item.where,
        )
    try:
        return CheapOracle(quorums, alpha, mains, reference=reference)
    except ValueError as exc:
        raise PaxiomError(f"field record.auxiliaries: {exc}", where=item.where) from None


def merge(traces: list[list[Located]]) -> Iterator[Located]:
    """The records of every trace in one causal order (each file drained until it waits on a send)."""
    sent_ids: set[MsgId] = {item.record.id for trace in traces for item in trace if isinstance(item.record, Sent)}
    sent: set[MsgId] = set()
    heads = [0] * len(traces)
    while any(head < len(trace) for head, trace in zip(heads, traces, strict=True)):
        progressed = False
        for i, trace in enumerate(traces):
            while heads[i] < len(trace):
                item = trace[heads[i]]
                record = item.record
                if isinstance(record, Receive) and record.id in sent_ids and record.id not in sent:
                    break
                if isinstance(record, Sent):
                    sent.add(record.id)
                heads[i] += 1
                progressed = True
                yield item
        if not progressed:
            stuck = [trace[head] for head, trace in zip(heads, traces, strict=True) if head < len(trace)]
            raise PaxiomError("field record.id: every trace waits on a receive before its send", where=stuck[0].where)


def check(directory: Path, reference: Callable[[], StateMachine] | None = None) -> Verdict:
    """Run the refinement oracle over the merged traces in `directory`; with `reference`, restored
    snapshots are also checked against that state machine replaying the chosen log."""
    traces = read_dir(directory)
    oracle = oracle_for(traces, reference)
    quorums, spec = oracle.quorums, oracle.spec_name
    count = 0
    at: Located | None = None
    pending: Located | None = None
    """The last record of the transitions fed and not yet judged: they are judged when a later record (a
    Tick, a Receive) ends them, and an objection then names this record, not the later one."""
    try:
        for count, item in enumerate(merge(traces), 1):
            oracle.step = count - 1
            if oracle.ends_transition(item.record):
                at = pending
                oracle.end_transition()
            at = item
            oracle.feed(item.record)
            if item.record.node in oracle.dirty:
                pending = item
        at = pending or at
        oracle.finish()
    except Objection as objection:
        return Verdict(count, quorums.nodes, oracle.transitions, oracle.actions_matched, objection, at, spec)
    return Verdict(count, quorums.nodes, oracle.transitions, oracle.actions_matched, spec=spec)
