"""What a conformance run produces: findings with their shrunk schedules, diagrams, replay files, JUnit XML."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from paxiom.conform.messages import Wire
from paxiom.conform.node import ROLES
from paxiom.conform.rules import RULES
from paxiom.conform.schedules import VARIANT_CONFIGS, config_json
from paxiom.conform.world import Event, Outcome, Step

REPLAY_FORMAT = "paxiom-conform-replay/1"


@dataclass
class Finding:
    rule: str
    node: str
    reason: str
    config: int
    steps: list[Step]
    """The shrunk schedule, as generated (replayable)."""
    log: list[str]
    """The same schedule as it ran, in words."""
    events: list[Event]
    seconds_to_detection: float
    examples_to_detection: int
    variant: str = "paxos"

    @classmethod
    def of(
        cls, outcome: Outcome, config: int, steps: list[Step], seconds: float, examples: int, variant: str = "paxos"
    ) -> Finding:
        v = outcome.violation
        assert v is not None
        return cls(v.rule, v.node, v.reason, config, steps, outcome.log, outcome.events, seconds, examples, variant)

    @property
    def title(self) -> str:
        return f"{self.rule} ({self.node}): {self.reason}"

    def mermaid(self) -> str:
        """A Mermaid sequence diagram of the schedule, ending in the violation."""
        participants: list[str] = []
        for e in self.events:
            for p in (e.src, e.dst):
                if p not in participants:
                    participants.append(p)
        lines = ["sequenceDiagram"] + [f"    participant {p}" for p in participants]
        for e in self.events:
            label = re.sub(r"[;#:]", " ", e.label)
            if e.kind == "note":
                lines.append(f"    Note over {e.src}: {label}")
            else:
                arrow = "-x" if e.kind == "drop" else "->>"
                lines.append(f"    {e.src}{arrow}{e.dst}: {label}")
        return "\n".join(lines)

    def replay_doc(self, role: str, target: str, options: dict[str, str]) -> dict[str, Any]:
        return {
            "format": REPLAY_FORMAT,
            "protocol": Wire(self.variant).protocol,
            "variant": self.variant,
            "role": role,
            "target": target,
            "options": options,
            "config": self.config,
            "rule": self.rule,
            "reason": self.reason,
            "steps": [s.to_json() for s in self.steps],
            "readable": self.log,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "role": RULES[self.rule].role,
            "judged_by": RULES[self.rule].judged_in(self.variant),
            "node": self.node,
            "reason": self.reason,
            "config": config_json(self.variant, self.config),
            "schedule": self.log,
            "steps": [s.to_json() for s in self.steps],
            "mermaid": self.mermaid(),
            "seconds_to_detection": round(self.seconds_to_detection, 3),
            "examples_to_detection": self.examples_to_detection,
        }


@dataclass
class Report:
    target: str
    role: str
    seed: int
    max_examples: int
    findings: list[Finding]
    examples: int
    seconds: float
    judged: Counter[str] = field(default_factory=Counter)
    stopped: str | None = None
    """Why the search ended before its budget (the implementation could not start), if it did."""
    replay_of: str | None = None
    """For the replay of a recorded finding: the rule it broke when recorded ("" if unknown)."""
    variant: str = "paxos"

    @property
    def suite(self) -> str:
        """`acceptor`, or `multipaxos acceptor` for the other variants: how the run is named."""
        return self.role if self.variant == "paxos" else f"{self.variant} {self.role}"

    @property
    def conforms(self) -> bool:
        """No rule broken, and something was judged: a run that judged nothing shows nothing. A replay
        that no longer fails conforms: the schedule that broke the rule has been run and passes."""
        return not self.findings and (self.replay_of is not None or not self.vacuous)

    @property
    def vacuous(self) -> bool:
        return not self.findings and not self.judged and self.replay_of is None

    def summary(self) -> str:
        """The one line every run ends with (on stderr under --json)."""
        verdict = "inconclusive" if self.vacuous else "conforms"
        verdict = f"{len(self.findings)} finding(s)" if self.findings else verdict
        if self.replay_of is not None:
            verdict = "the replayed schedule no longer fails" if self.conforms else f"replay: {verdict}"
        rules = f": {', '.join(f.rule for f in self.findings)}" if self.findings else ""
        return f"paxiom conform {self.suite}: {self.examples} schedule(s) in {self.seconds:.1f} s, {verdict}{rules}"

    def to_json(self) -> dict[str, Any]:
        return {
            "protocol": Wire(self.variant).protocol,
            "variant": self.variant,
            "target": self.target,
            "role": self.role,
            "conforms": self.conforms,
            "vacuous": self.vacuous,
            "seed": self.seed,
            "max_examples": self.max_examples,
            "examples_run": self.examples,
            "seconds": round(self.seconds, 3),
            "messages_judged": dict(sorted(self.judged.items())),
            "stopped": self.stopped,
            "replay_of": self.replay_of,
            "findings": [f.to_json() for f in self.findings],
        }

    def rules_checked(self) -> list[str]:
        """The rules a run of this role judges: its own, a proposer's decisions as a learner's, and in every
        role the spec's agreement and validity over everything sent, and the runner's failures."""
        roles = {"acceptor": {"acceptor"}, "proposer": {"proposer", "learner"}, "learner": {"learner"}}
        judged = roles.get(self.role, {"acceptor", "proposer", "learner"}) | {"group", "any"}
        return [name for name, rule in RULES.items() if rule.role in judged and rule.applies_to(self.variant)]

    def junit(self, path: Path) -> None:
        """One testcase per rule checked; each finding is a failure of its rule's testcase."""
        by_rule = {f.rule: f for f in self.findings}
        suite = ET.Element(
            "testsuite",
            name=f"paxiom conform {self.suite}: {self.target}",
            tests=str(len(self.rules_checked())),
            failures=str(len(self.findings)),
            time=f"{self.seconds:.3f}",
        )
        for rule in self.rules_checked():
            case = ET.SubElement(suite, "testcase", classname=f"conform.{self.role}", name=rule)
            finding = by_rule.get(rule)
            if finding is not None:
                failure = ET.SubElement(case, "failure", message=finding.reason, type=rule)
                failure.text = "\n".join(finding.log)
        root = ET.Element("testsuites")
        root.append(suite)
        ET.indent(root)
        path.write_text(ET.tostring(root, encoding="unicode") + "\n")

    def write_replays(self, directory: Path, options: dict[str, str]) -> list[Path]:
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        for i, f in enumerate(self.findings, 1):
            path = directory / f"{self.suite.replace(' ', '-')}-{i}-{f.rule}.json"
            path.write_text(json.dumps(f.replay_doc(self.role, self.target, options), indent=2) + "\n")
            paths.append(path)
        return paths


class Replay(NamedTuple):
    role: str
    config: int
    steps: list[Step]
    options: dict[str, str]
    rule: str
    """The rule the schedule broke when it was recorded."""
    variant: str = "paxos"


def load_replay(path: Path) -> Replay:
    """A replay file's schedule; ValueError/KeyError/TypeError on a malformed one."""
    doc = json.loads(path.read_text())
    if not isinstance(doc, dict) or doc.get("format") != REPLAY_FORMAT:
        raise ValueError(f"not a {REPLAY_FORMAT} file")
    role, config, variant = str(doc["role"]), doc["config"], doc.get("variant", "paxos")
    if variant not in VARIANT_CONFIGS:
        raise ValueError(f"unknown variant {variant!r}; the suite judges {', '.join(VARIANT_CONFIGS)}")
    if role not in ROLES or type(config) is not int or config not in range(len(VARIANT_CONFIGS[variant])):
        raise ValueError(f"unknown role {role!r} or quorum configuration {config!r}")
    options = doc.get("options", {})
    if not isinstance(options, dict) or not all(isinstance(v, str) for v in options.values()):
        raise ValueError("'options' must map names to strings")
    if not isinstance(doc["steps"], list):
        raise ValueError("'steps' must be a list")
    steps = [Step.from_json(s) for s in doc["steps"]]
    return Replay(role, config, steps, options, str(doc.get("rule", "")), variant)
