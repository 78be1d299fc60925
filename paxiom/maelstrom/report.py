"""What a system test found, in the forms people read: text, JSON, JUnit, and files in --out."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paxiom import faultplan
from paxiom.lin.check import Result
from paxiom.lin.history import Operation, pair, write_edn
from paxiom.lin.timeline import render
from paxiom.maelstrom import nemesis
from paxiom.maelstrom.run import NEMESIS_NOTE, SERVICE, Outcome

PHASES = ("healthy", "faulted", "recovered")
TAIL_LINES = 12
TAIL_MARGIN = 1.0  # seconds of stderr kept either side of the anomaly


def reproducibility(seed: int, replayed: bool) -> str:
    drawn = (
        "the fault schedule was replayed from a file; the clients' choices (operation, key, node, pacing)"
        if replayed
        else "the fault schedule and the clients' choices (operation, key, node, pacing)"
    )
    return (
        f"{drawn} are drawn from seed {seed}; message timing, the OS scheduler and the nodes' own "
        "randomness are not, so a rerun reproduces the run only as far as the nodes' nondeterminism allows"
    )


@dataclass
class Report:
    outcome: Outcome
    lin: Result | None  # None when the nodes never started
    target: str
    out: Path
    checker_failure: str = ""  # why there is no verdict although the nodes ran

    @property
    def ops(self) -> list[Operation]:
        return list(self.lin.operations) if self.lin is not None else pair(self.outcome.history)

    @property
    def verdict(self) -> str:
        if not self.outcome.started:
            return "not started"
        if self.lin is None:
            return "unknown"  # the checker failed: see checker_failure
        return {"ok": "linearizable", "violation": "not linearizable"}.get(self.lin.verdict, "unknown")

    @property
    def passed(self) -> bool:
        return self.verdict == "linearizable" and not self.outcome.findings

    def faults(self) -> list[tuple[float, float]]:
        """(start, heal) offsets from the workload's start, per fault applied."""
        starts: dict[int, float] = {}
        spans = []
        for step in self.outcome.steps:
            if step["op"] == "start":
                starts[int(step["id"])] = float(step["at"])
            elif int(step["id"]) in starts:
                spans.append((starts.pop(int(step["id"])), float(step["at"])))
        return spans + [(t, float("inf")) for t in starts.values()]

    def phase(self, op: Operation) -> str:
        at = (op.call_time or 0) / 1e9 - self.outcome.base
        spans = self.faults()
        if not spans or at < min(s for s, _ in spans):
            return "healthy"
        return "faulted" if any(s <= at < e for s, e in spans) else "recovered"

    def availability(self) -> dict[str, dict[str, int]]:
        counts: dict[str, Counter[str]] = {p: Counter() for p in PHASES}
        for op in self.ops:
            counts[self.phase(op)][op.status] += 1
        return {p: {s: counts[p][s] for s in ("ok", "fail", "info")} for p in PHASES}

    def latency_ms(self) -> dict[str, float]:
        done = sorted((op.ret_time - op.call_time) / 1e6 for op in self.ops
                      if op.status == "ok" and op.ret_time is not None and op.call_time is not None)  # fmt: skip
        if not done:
            return {}
        at = {
            name: done[min(len(done) - 1, int(q * len(done)))]
            for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))
        }
        return {name: round(v, 2) for name, v in {**at, "max": done[-1]}.items()}

    def anomaly_window(self) -> tuple[float, float] | None:
        """Seconds since the harness started: the violating operations' span, else the first finding."""
        if self.lin is not None and self.lin.explanation is not None:
            ops = self.lin.explanation.operations
            first = min(op.call_time or 0 for op in ops) / 1e9
            last = max((op.ret_time or op.call_time or 0) for op in ops) / 1e9
            return first, last
        if self.outcome.findings:
            t = self.outcome.findings[0].time
            return t, t
        return None

    def tails(self) -> dict[str, list[str]]:
        window = self.anomaly_window()
        if window is None:
            return {}
        lo, hi = window[0] - TAIL_MARGIN, window[1] + TAIL_MARGIN
        return {node: [f"[{t:8.3f}] {text}" for t, text in lines
                       if lo <= t <= hi and not text.startswith(NEMESIS_NOTE)][-TAIL_LINES:]
                for node, lines in self.outcome.stderr.items()}  # fmt: skip

    def explanation_lines(self) -> list[str]:
        """The checker's minimal explanation, plus which node answered each of its operations."""
        if self.lin is None or self.lin.explanation is None:
            return []
        ex = self.lin.explanation
        served = [f"op {op.id} {self.outcome.served[op.ret]}" for op in ex.operations
                  if op.ret is not None and op.ret in self.outcome.served]  # fmt: skip
        return ex.lines(self.lin.model) + ([f"  answered by: {', '.join(served)}"] if served else [])

    # --- files ---------------------------------------------------------------------------------------------

    def write(self) -> dict[str, str]:
        """history.edn, schedule.json (and the node logs already there); returns name -> path."""
        files = {f"{n}.log": str(self.out / f"{n}.log") for n in self.outcome.config.node_ids}
        history = self.out / "history.edn"
        write_edn(self.outcome.history, history)
        files["history"] = str(history)
        schedule = self.out / "schedule.json"
        config = self.outcome.config
        doc = {"format": nemesis.SCHEDULE_FORMAT, "seed": config.seed, "nodes": config.node_ids,
               "time_limit": config.time_limit, "nemesis": list(config.nemesis),
               "steps": self.outcome.steps}  # fmt: skip
        schedule.write_text(json.dumps(doc, indent=2) + "\n")
        files["schedule"] = str(schedule)
        if self.lin is not None:
            timeline = self.out / "timeline.html"
            timeline.write_text(render(self.lin, title=f"paxiom conform --system lin-kv: {self.target}"), "utf-8")
            files["timeline"] = str(timeline)
        return files

    def to_json(self, files: dict[str, str]) -> dict[str, Any]:
        config = self.outcome.config
        return {
            "system": "lin-kv",
            "target": self.target,
            "verdict": self.verdict,
            "passed": self.passed,
            "nodes": config.node_ids,
            "seed": config.seed,
            "reproducibility": reproducibility(config.seed, config.replay is not None),
            "seconds": round(self.outcome.seconds, 3),
            "findings": [
                {"kind": f.kind, "node": f.node, "detail": f.detail, "time": round(f.time, 3)}
                for f in self.outcome.findings
            ],
            "linearizability": None if self.lin is None else self.lin.to_json(),
            "explanation": self.explanation_lines(),
            "checker_failure": self.checker_failure or None,
            "availability": self.availability(),
            "latency_ms": self.latency_ms(),
            "schedule": [{"at": s["at"], "text": faultplan.describe(s)} for s in self.outcome.steps],
            "network": self.outcome.network,
            "stderr_tails": self.tails(),
            "files": files,
        }

    def junit(self, path: Path) -> None:
        """Testcases: linearizable, the service answered at all, then each node started, stayed up and spoke
        the protocol."""
        config = self.outcome.config
        suite = ET.Element("testsuite", name=f"paxiom conform --system lin-kv: {self.target}",
                           tests=str(2 + len(config.node_ids)), time=f"{self.outcome.seconds:.3f}")  # fmt: skip
        failures = 0
        case = ET.SubElement(suite, "testcase", classname="conform.lin-kv", name="linearizable")
        if self.verdict != "linearizable":
            failures += 1
            ET.SubElement(case, "failure", message=self.verdict, type="linearizability").text = "\n".join(
                self.explanation_lines()
            )
        for node in [SERVICE, *config.node_ids]:
            case = ET.SubElement(
                suite, "testcase", classname="conform.lin-kv", name=node if node == SERVICE else f"node {node}"
            )
            found = [f for f in self.outcome.findings if f.node == node]
            if found:
                failures += 1
                ET.SubElement(case, "failure", message=found[0].detail, type=found[0].kind).text = "\n".join(
                    f"{f.kind}: {f.detail}" for f in found
                )
        suite.set("failures", str(failures))
        root = ET.Element("testsuites")
        root.append(suite)
        ET.indent(root)
        path.write_text(ET.tostring(root, encoding="unicode") + "\n")
