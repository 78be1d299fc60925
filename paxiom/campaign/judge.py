"""Judging one run: the history (paxiom.lin), acknowledged writes against the final state, slot agreement
and refinement from the nodes' traces (`paxiom trace check`'s library function), and availability figures.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from paxiom.errors import PaxiomError
from paxiom.impl import observe, tracecheck
from paxiom.impl.reconfig import switch_of
from paxiom.lin.check import Result, check
from paxiom.lin.history import Event, Operation, pair
from paxiom.lin.timeline import render
from paxiom.node.kvstore import replicated

ANSWERED_FAILS = frozenset(("mismatch", "not_found"))
"""A cas that failed its precondition: the service answered (a success for availability)."""


def linearizability(events: Sequence[Event], out: Path, timeout: float = 60.0) -> tuple[Result, list[str]]:
    """The checker's verdict; on a violation its explanation lines, and the HTML timeline in `out`."""
    result = check(events, model="cas-register", timeout=timeout)
    lines: list[str] = []
    if result.explanation is not None:
        lines = result.explanation.lines(result.model)
        (out / "timeline.html").write_text(render(result, title="paxiom campaign"), encoding="utf-8")
        lines.append(f"timeline: {out / 'timeline.html'}")
    return result, lines


def lost_writes(ops: Sequence[Operation], final: dict[str, int | None]) -> list[str]:
    """Acknowledged writes and cas the final state neither reflects nor can have overwritten.

    Values are unique per key, so the final value names its writer W (None: the key was never written).
    An acknowledged update A is lost if the final value is not A's and W entirely preceded A (W completed
    before A was invoked) — then A must come after W in any linearization, and something after A would
    have had to overwrite it with W's value again — or if no write produced the final value at all."""
    lost = []
    by_key: dict[Any, list[Operation]] = defaultdict(list)
    for op in ops:
        if op.f in ("write", "cas"):
            by_key[op.key].append(op)
    for key, updates in sorted(by_key.items()):
        value = final.get(key)
        writer = next((op for op in updates if _written(op) == value), None)
        for op in updates:
            if op.status != "ok" or _written(op) == value:
                continue
            if writer is None or (writer.ret is not None and writer.ret < op.call):
                state = "absent" if value is None else f"{value}"
                lost.append(f"key {key}: acknowledged {op.f} of {_written(op)} (op {op.id}) lost; final value {state}")
    return lost


def _written(op: Operation) -> Any:
    return op.value[1] if op.f == "cas" else op.value


def applied_agreement(trace_dir: Path) -> tuple[int, int, list[str]]:
    """Slots applied by several nodes (or incarnations) with different values, from the Applied records; also
    how many configurations were switched to (Cheap Paxos: a main's retirements; each fills α slots with
    copies of its command, so slots are not counted)."""
    by_slot: dict[int, dict[Any, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(trace_dir.glob("*.jsonl")):
        with path.open(encoding="utf-8") as file:
            for line in file:
                if '"Applied"' not in line:
                    continue
                record = observe.from_json(json.loads(line))
                if isinstance(record, observe.Applied):
                    by_slot[record.slot][record.value].append(path.stem)
    problems = [
        f"slot {slot}: " + "; ".join(f"{' '.join(sorted(set(who)))} applied {v!r:.120}" for v, who in vs.items())
        for slot, vs in sorted(by_slot.items())
        if len(vs) > 1
    ]
    switches = {v[0].op for vs in by_slot.values() for v in vs if switch_of(v) is not None}
    return len(by_slot), len(switches), problems


def refinement(trace_dir: Path) -> tuple[dict[str, Any], str | None]:
    """`paxiom trace check --service-reference` over the run's traces (restored snapshots checked against
    the service's KV replaying the chosen log): figures, and the objection (with its record) if any."""
    try:
        verdict = tracecheck.check(trace_dir, reference=replicated)
    except PaxiomError as exc:
        return {"records": 0}, f"the traces cannot be checked: {exc}"
    figures: dict[str, Any] = {"records": verdict.records, "spec_actions_matched": verdict.actions_matched,
                               "spec": verdict.spec}  # fmt: skip
    if verdict.objection is None:
        return figures, None
    where = f" at {verdict.at.where}" if verdict.at is not None else ""
    return figures, f"oracle objects{where}: {verdict.objection.check}: {verdict.objection.reason}"


def availability(
    ops: Sequence[Operation], started: float, windows: list[tuple[float, float]], losses: list[float],
    last_heal: float | None,
) -> dict[str, Any]:  # fmt: skip
    """Figures from the history (times in seconds since the recorder started): after each leader loss, the
    time until an op invoked after it succeeded; ops invoked inside minority-fault windows that succeeded;
    after the last heal, the time until an op invoked after it succeeded."""

    def ok(op: Operation) -> bool:
        return op.status == "ok" or op.error in ANSWERED_FAILS

    done = [(op.call_time / 1e9, op.ret_time / 1e9) for op in ops
            if ok(op) and op.call_time is not None and op.ret_time is not None and op.process != "final"]  # fmt: skip

    def first_after(t: float) -> float | None:
        ends = [ret for call, ret in done if call >= t]
        return min(ends) - t if ends else None

    elect = [d for t in losses if (d := first_after(t - started)) is not None]
    inside = [op for op in ops if op.call_time is not None and any(a <= op.call_time / 1e9 < b for a, b in windows)]
    recovery = first_after(last_heal) if last_heal is not None else None
    return {
        "serve_after_leader_loss_s": [round(d, 3) for d in elect],
        "minority_fault_ops": len(inside),
        "minority_fault_ok": sum(1 for op in inside if ok(op)),
        "recovery_after_heal_s": None if recovery is None else round(recovery, 3),
    }


__all__ = ["applied_agreement", "availability", "linearizability", "lost_writes", "pair", "refinement"]
