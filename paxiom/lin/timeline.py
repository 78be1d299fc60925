"""A self-contained HTML timeline of the offending part of a history (inline SVG and CSS, no scripts).

One row per process; each operation is a bar from its invocation to its completion. An indeterminate
operation (:info, or never completed) is open-ended: its bar runs to the right edge, since it may take
effect at any later time. The operations of the minimal explanation are marked `violating` (and the one
the longest linearization cannot get past also `blocked`); hovering a bar shows f, value, result, outcome
and, for marked ones, its place in that linearization. With no violation the first operations are drawn.
"""

from __future__ import annotations

from html import escape
from typing import Any

from paxiom.lin.check import Result
from paxiom.lin.history import Operation
from paxiom.lin.models import show_state

MAX_BARS = 400  # operations drawn at most (the explanation's are always among them)
WIDTH = 1200
ROW = 30
LEFT = 110  # the process labels' column
CONTEXT = 12  # operations of the key drawn on each side of the explanation's time span

_STYLE = """
body { font: 13px system-ui, sans-serif; margin: 16px; color: #222; }
h1 { font-size: 17px; margin: 0 0 6px; } pre { background: #f5f5f5; padding: 8px; white-space: pre-wrap; }
.op rect { fill: #9ec5e8; stroke: #3a6f99; } .op.open rect { fill: url(#fade); stroke-dasharray: 4 3; }
.op.fail rect { fill: #ddd; stroke: #999; } .op.violating rect { fill: #f28b82; stroke: #b3261e; stroke-width: 2; }
.op.blocked rect { stroke-width: 3; } .op text { font-size: 11px; pointer-events: none; }
.op.violating text { font-weight: bold; }
.lane { stroke: #eee; } .label { font-size: 12px; } .legend span { margin-right: 14px; }
.swatch { display: inline-block; width: 14px; height: 10px; margin-right: 4px; border: 1px solid #555; }
"""


def render(result: Result, *, title: str = "paxiom lin") -> str:
    """The timeline page for a checked history."""
    ops, marked, order, note = _selection(result)
    blocked = result.explanation.blocked.id if result.explanation and result.explanation.blocked else None
    processes = sorted({op.process for op in ops}, key=lambda p: (isinstance(p, str), str(p).zfill(12)))
    lane = {p: i for i, p in enumerate(processes)}
    use_time = all(op.call_time is not None and (op.ret is None or op.ret_time is not None) for op in ops)
    start = min((_at(op, use_time, end=False) for op in ops), default=0)
    stop = max((_at(op, use_time, end=True) for op in ops), default=1)
    scale = (WIDTH - LEFT - 20) / max(stop - start, 1)
    height = ROW * len(processes) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" role="img">',
        '<defs><linearGradient id="fade"><stop offset="0" stop-color="#9ec5e8"/>'
        '<stop offset="1" stop-color="#9ec5e8" stop-opacity="0.1"/></linearGradient></defs>',
    ]
    for p, i in lane.items():
        y = 20 + ROW * i
        parts.append(f'<line class="lane" x1="{LEFT}" x2="{WIDTH}" y1="{y + ROW / 2}" y2="{y + ROW / 2}"/>')
        parts.append(f'<text class="label" x="4" y="{y + ROW / 2 + 4}">process {escape(str(p))}</text>')
    for op in ops:
        x0 = LEFT + (_at(op, use_time, end=False) - start) * scale
        open_ended = op.status == "info"
        x1 = WIDTH - 4 if open_ended else LEFT + (_at(op, use_time, end=True) - start) * scale
        classes = ["op", op.status] + (["open"] if open_ended else [])
        classes += ["violating"] if op.id in marked else []
        classes += ["blocked"] if op.id == blocked else []
        y = 20 + ROW * lane[op.process] + 5
        tip = _tip(result, op, order.get(op.id))
        label = escape(_label(result, op, WIDTH if op.id in marked else x1 - x0))
        parts.append(
            f'<g class="{" ".join(classes)}" data-op="{op.id}"><title>{escape(tip)}</title>'
            f'<rect x="{x0:.1f}" y="{y}" width="{max(x1 - x0, 3):.1f}" height="{ROW - 10}" rx="3"/>'
            f'<text x="{x0 + 3:.1f}" y="{y + 14}">{label}</text></g>'
        )
    parts.append("</svg>")
    summary = escape("\n".join(_summary(result)))
    legend = (
        '<p class="legend"><span><i class="swatch" style="background:#9ec5e8"></i>ok</span>'
        '<span><i class="swatch" style="background:#ddd"></i>fail (did not happen)</span>'
        '<span><i class="swatch" style="background:linear-gradient(90deg,#9ec5e8,#fff)"></i>'
        "info / no reply (may happen any time later, or never)</span>"
        '<span><i class="swatch" style="background:#f28b82"></i>in the minimal non-linearizable set</span></p>'
    )
    axis = "time" if use_time else "history order"
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body><h1>{escape(title)}: {escape(result.verdict)}</h1>"
        f"<pre>{summary}</pre>{legend}<p>{escape(note)} Horizontal axis: {axis}; hover a bar for details.</p>"
        f"{''.join(parts)}</body></html>\n"
    )


def _selection(result: Result) -> tuple[list[Operation], set[int], dict[int, int], str]:
    """The operations to draw, the marked ones, their linearization order, and a note saying which these are."""
    ex = result.explanation
    if ex is None:
        ops = list(result.operations[:MAX_BARS])
        return ops, set(), {}, f"No violation; the first {len(ops)} of {len(result.operations)} operations."
    marked = {op.id for op in ex.operations}
    order = {op.id: i + 1 for i, op in enumerate(ex.linearized)}
    key_ops = [op for op in result.operations if op.key == ex.key]
    first = min(op.call for op in ex.operations)
    last = max(op.ret if op.ret is not None else op.call for op in ex.operations)
    inside = [i for i, op in enumerate(key_ops) if op.call <= last and (op.ret is None or op.ret >= first)]
    lo, hi = max(0, min(inside) - CONTEXT), min(len(key_ops), max(inside) + 1 + CONTEXT)
    window = key_ops[lo:hi]
    if len(window) > MAX_BARS:
        window = [op for op in window if op.id in marked] + [op for op in window if op.id not in marked]
        window = sorted(window[:MAX_BARS], key=lambda op: op.call)
    note = f"Key {show_state(ex.key)}: {len(window)} of its {len(key_ops)} operations around the violation."
    return window, marked, order, note


def _at(op: Operation, use_time: bool, *, end: bool) -> float:
    if use_time:
        value: Any = op.ret_time if end and op.ret_time is not None else op.call_time
        return float(value)
    return float(op.ret if end and op.ret is not None else op.call + (0.5 if end else 0))


def _label(result: Result, op: Operation, width: float) -> str:
    """The operation's text cut to what fits in its bar (about 6.5 px a character); the hover has it all."""
    text = result.model.describe(op, with_key=False)
    fits = int((width - 6) / 6.5)
    return text if len(text) <= fits else text[: fits - 1] + "…" if fits >= 4 else ""


def _tip(result: Result, op: Operation, place: int | None) -> str:
    lines = [f"op {op.id}, process {op.process}", f"f: {op.f}", f"value: {show_state(op.value)}"]
    lines.append(f"result: {show_state(op.output) if op.status == 'ok' else op.status}")
    lines.append(f"outcome: {op.status}" + ("" if op.ret is not None else " (no completion)"))
    if op.error is not None:
        lines.append(f"error: {op.error}")
    if op.call_time is not None:
        lines.append(f"invoked at {op.call_time} ns" + (f", completed at {op.ret_time} ns" if op.ret_time else ""))
    if place is not None:
        lines.append(f"#{place} in the longest linearization")
    return "\n".join(lines)


def _summary(result: Result) -> list[str]:
    keys = len(result.keys)
    bad = [k for k in result.keys if k.verdict != "ok"]
    lines = [f"{result.verdict}: {len(result.operations)} operations on {keys} key(s), model {result.model.name}"]
    lines += [f"key {show_state(k.key)}: {k.verdict}" + (f" ({k.reason})" if k.reason else "") for k in bad[:20]]
    if result.explanation is not None:
        lines += result.explanation.lines(result.model)
    return lines
