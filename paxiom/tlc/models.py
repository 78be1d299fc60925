"""TLC models of the spec: one set of constants, rendered as a TLA+ model module and a TLC config.

A model is the TLC twin of a Python spec model (`paxiom.variants.build_model`) with the same constants:
acceptors are the indices 0..n-1, values the same strings, quorum families the same sets (each written
as its minimal quorums, closed upwards in TLA+). Each model names its expected outcome in its config, so
`paxiom tla check` can tell an unsafe configuration found unsafe (expected) from a real regression:

    \\* paxiom-expect: holds                  every invariant holds
    \\* paxiom-expect: agreement violated     TLC must find two values chosen

A generated config also carries the model's constants as JSON (`\\* paxiom-model: {...}`), so that a
TLC counterexample on it can be replayed through the Python spec (`paxiom.tlc.counterexample`).

A model of a configuration that breaks its quorum-intersection condition checks only the invariant it
expects violated: every other invariant would trip first (`quorum_intersection` in the initial state,
`votes_safe` at the unsafe vote), and the point of such a model is the end-to-end counterexample.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from paxiom.errors import PaxiomError
from paxiom.spec.cheap import Config as CheapConfig
from paxiom.spec.quorums import QuorumFamily, QuorumSystem, members, quorum_intersection
from paxiom.spec.reconfig import config_from_json, config_members, config_to_json, switch
from paxiom.trace import quorums_from_json, quorums_to_json
from paxiom.variants import AnyModel, build_model

BASE_MODULES = {
    "paxos": "Paxos",
    "multipaxos": "MultiPaxos",
    "fastpaxos": "FastPaxos",
    "reconfig": "Reconfig",
    "cheap": "Cheap",
}
"""The TLA+ twin of each spec variant, in the repository's `tla/` directory."""

STATE_INVARIANTS = (
    "type_ok",
    "quorum_intersection",
    "promise_monotonicity",
    "one_value_per_ballot",
    "votes_safe",
    "agreement",
    "validity",
)
VARIANT_INVARIANTS = {"reconfig": ("votes_governed",), "cheap": ("votes_governed", "aux_votes_retire")}
LOGGED = ("multipaxos", "reconfig", "cheap")
"""The variants with a log of slots."""
RECONFIGURED = ("reconfig", "cheap")
"""The variants whose configurations change through the log (`Reconfig.tla`, and `Cheap.tla` on top of it)."""
"""Invariants only some variants have, checked after the shared ones."""
STEP_PROPERTIES = ("promise_monotonicity_step", "stability")
"""Action properties; `promise_monotonicity_step` is the step half of the explorer's `promise_monotonicity`."""

_EXPECT = re.compile(r"^\\\* paxiom-expect: (holds|(\w+) violated)\s*$", re.MULTILINE)
_CONSTANTS = re.compile(r"^\\\* paxiom-model: (\{.*\})\s*$", re.MULTILINE)

TLA_DIR = Path(__file__).resolve().parents[1] / "tla"
"""The repository's `tla/` directory: the twin specs and the checked-in models."""


@dataclass(frozen=True)
class TlcModel:
    """Constants for one run of a spec variant, and the outcome TLC must report."""

    name: str
    variant: str
    quorums: QuorumSystem
    values: tuple[str, ...]
    max_ballot: int
    slots: int = 1
    fast_ballots: tuple[int, ...] = ()
    expect: str | None = None
    """The invariant TLC must find violated, or None when every invariant must hold."""
    description: str = field(default="", compare=False)
    alpha: int = 1
    configs: tuple[QuorumSystem, ...] = ()
    """reconfig: the configurations after the initial one (`quorums`), over the same acceptors."""
    bug: str | None = None
    """reconfig, cheap: one of the spec's deliberate bugs (`paxiom.spec.reconfig.BUGS`, `cheap.BUGS`), or None."""
    mains: int = 0
    retirable: int = 0
    """cheap: how many acceptors are mains, and how many of them have a retirement command (0: the default)."""

    def __post_init__(self) -> None:
        if self.variant not in BASE_MODULES:
            raise PaxiomError(f"unknown variant {self.variant!r}; choose one of {', '.join(BASE_MODULES)}")
        if not re.fullmatch(r"[A-Za-z]\w*", self.name):
            raise PaxiomError(f"{self.name!r} is not a TLA+ module name (letters, digits, underscores)")
        if self.variant == "cheap":  # its configurations follow from its constants: refuse ones that cannot
            try:
                self.python_model()
            except ValueError as exc:
                raise PaxiomError(str(exc), where=self.name) from None

    @classmethod
    def predicted(
        cls,
        name: str,
        variant: str,
        quorums: QuorumSystem,
        *,
        values: tuple[str, ...],
        max_ballot: int,
        slots: int = 1,
        fast_ballots: tuple[int, ...] = (),
        description: str = "",
    ) -> TlcModel:
        """A model expecting what the quorum conditions predict: safe if they hold, else two values chosen."""
        expect = None if quorum_intersection(quorums) is None else "agreement"
        return cls(name, variant, quorums, values, max_ballot, slots, fast_ballots, expect, description)

    @property
    def base(self) -> str:
        return BASE_MODULES[self.variant]

    @property
    def checked(self) -> tuple[str, ...]:
        """The invariants and properties this model checks (TLC names)."""
        return (self.expect,) if self.expect else self.state_invariants + STEP_PROPERTIES

    @property
    def state_invariants(self) -> tuple[str, ...]:
        return STATE_INVARIANTS + VARIANT_INVARIANTS.get(self.variant, ())

    @property
    def explorer_only(self) -> frozenset[str] | None:
        """The same selection in the explorer's terms (None: all), for `paxiom.explorer.explore(only=...)`."""
        return frozenset({self.expect}) if self.expect else None

    def python_model(self) -> AnyModel:
        """The Python spec model with the same constants."""
        return build_model(
            self.variant,
            self.quorums,
            values=self.values,
            max_ballot=self.max_ballot,
            slots=self.slots,
            fast_ballots=self.fast_ballots,
            **self._reconfig_constants(),
        )

    def _reconfig_constants(self) -> dict[str, Any]:
        if self.variant == "cheap":
            return {"alpha": self.alpha, "bug": self.bug, "mains": self.mains, "retirable": self.retirable}
        return {"alpha": self.alpha, "configs": self.configs, "bug": self.bug} if self.variant == "reconfig" else {}

    def _systems(self) -> tuple[QuorumSystem, ...]:
        """Every configuration, the initial one first (cheap's follow from its mains, so the spec builds them)."""
        if self.variant == "cheap":
            return cast(CheapConfig, self.python_model().cfg).configs
        return (self.quorums, *self.configs)

    def module_text(self) -> str:
        """The model module: the base spec extended with these constants as TLA+ definitions."""
        qs = self.quorums
        names = ", ".join(f"{i} = {name}" for i, name in enumerate(qs.nodes))
        lines = [
            f"{'-' * 4} MODULE {self.name} {'-' * 4}",
            f"(* {self.description or self.name} *)",
            f"(* Acceptors: {names}.  Generated by paxiom; see {self.base}.tla for the spec. *)",
            f"EXTENDS {self.base}",
            "",
            f"MCAcceptors == 0..{qs.n - 1}",
            "MCValues == {" + ", ".join(_tla_string(v) for v in self.values) + "}",
            *self._quorum_lines(),
        ]
        if self.variant in LOGGED:
            lines.append(f"MCSlots == 0..{self.slots - 1}")
        if self.variant in RECONFIGURED:
            lines += self._reconfig_lines()
        if self.variant == "fastpaxos":
            if qs.fast is None:
                raise PaxiomError(f"{self.name}: Fast Paxos needs fast quorums")
            lines.append("MCFastBallots == {" + ", ".join(map(str, sorted(self.fast_ballots))) + "}")
            lines.append(f"MCFastQuorum == {_upward_closure(qs.fast)}")
        lines.append("=" * 40)
        return "\n".join(lines) + "\n"

    def _quorum_lines(self) -> list[str]:
        """The quorum families; reconfig's are per configuration 0..K (with each one's members, and cheap's mains)."""
        if self.variant not in RECONFIGURED:
            return [
                f"MCQuorum1 == {_upward_closure(self.quorums.phase1)}",
                f"MCQuorum2 == {_upward_closure(self.quorums.phase2)}",
            ]
        systems = self._systems()

        def per_config(name: str, render: Callable[[QuorumSystem], str]) -> str:
            cases = " [] ".join(f"c = {c} -> {render(qs)}" for c, qs in enumerate(systems))
            return f"{name} == [c \\in MCConfigIds |-> CASE {cases}]"

        def acceptors(qs: QuorumSystem) -> str:
            return _tla_set(config_members(qs))

        lines = [
            f"MCConfigIds == 0..{len(systems) - 1}",
            per_config("MCQuorum1", lambda qs: _upward_closure(qs.phase1)),
            per_config("MCQuorum2", lambda qs: _upward_closure(qs.phase2)),
            per_config("MCMembers", acceptors),
        ]
        if self.variant == "cheap":
            mains = cast(CheapConfig, self.python_model().cfg).mains_of
            cases = " [] ".join(f"c = {c} -> {_tla_set(m)}" for c, m in enumerate(mains))
            lines.append(f"MCMains == [c \\in MCConfigIds |-> CASE {cases}]")
        return lines

    def _reconfig_lines(self) -> list[str]:
        """The window, the switch commands cfg1..cfgK and the deliberate bug ("none" for the real protocol)."""
        further = len(self._systems()) - 1
        commands = " [] ".join(f"k = {k} -> {_tla_string(switch(k))}" for k in range(1, further + 1))
        return [
            f"MCAlpha == {self.alpha}",
            f"MCSwitch == [k \\in 1..{further} |-> CASE {commands or 'FALSE -> None'}]",
            f"MCBug == {_tla_string(self.bug or 'none')}",
        ]

    def cfg_text(self, checked: tuple[str, ...] | None = None) -> str:
        """The TLC config: constants bound to the module's definitions, and what to check.

        `checked` overrides the model's own selection (an empty tuple explores the state space only).
        """
        checked = self.checked if checked is None else checked
        expectation = f"{self.expect} violated" if self.expect else "holds"
        substitutions = ["Acceptors", "Values", "Quorum1", "Quorum2"]
        substitutions += {
            "multipaxos": ["Slots"],
            "fastpaxos": ["FastBallots", "FastQuorum"],
            "reconfig": ["Slots", "Alpha", "ConfigIds", "Members", "Switch", "Bug"],
            "cheap": ["Slots", "Alpha", "ConfigIds", "Members", "Mains", "Switch", "Bug"],
        }.get(self.variant, [])
        lines = [
            f"\\* TLC model {self.name}: {self.description or self.variant}",
            f"\\* paxiom-expect: {expectation}",
            f"\\* paxiom-model: {json.dumps(self.constants())}",
            "CONSTANTS",
            "  None = None",
            f"  MaxBallot = {self.max_ballot}",
            *(f"  {c} <- MC{c}" for c in substitutions),
            "INIT Init",
            "NEXT Next",
        ]
        invariants = [c for c in checked if c in self.state_invariants]
        properties = [c for c in checked if c in STEP_PROPERTIES]
        if invariants:
            lines.append("INVARIANTS " + " ".join(invariants))
        if properties:
            lines.append("PROPERTIES " + " ".join(properties))
        return "\n".join(lines) + "\n"

    def constants(self) -> dict[str, Any]:
        """The model as JSON: what `from_cfg` reads back to replay TLC's counterexamples in the spec."""
        doc: dict[str, Any] = {"variant": self.variant, **quorums_to_json(self.quorums)}
        doc |= {"values": list(self.values), "max_ballot": self.max_ballot}
        if self.variant in LOGGED:
            doc["slots"] = self.slots
        if self.variant == "reconfig":
            doc |= {"alpha": self.alpha, "configs": [config_to_json(c) for c in self.configs]}
        if self.variant == "cheap":
            doc |= {"alpha": self.alpha, "mains": self.mains, "retirable": self.retirable}
        if self.variant in RECONFIGURED:
            doc |= {"bug": self.bug} if self.bug else {}
        if self.variant == "fastpaxos":
            doc["fast_ballots"] = list(self.fast_ballots)
        return doc

    @classmethod
    def from_cfg(cls, name: str, cfg_text: str) -> TlcModel | None:
        """The model a generated config describes (None for a hand-written config without the line)."""
        m = _CONSTANTS.search(cfg_text)
        if m is None:
            return None
        try:
            doc = json.loads(m[1])
            quorums = quorums_from_json(doc)
            return cls(
                name,
                doc["variant"],
                quorums,
                tuple(doc["values"]),
                int(doc["max_ballot"]),
                int(doc.get("slots", 1)),
                tuple(doc.get("fast_ballots", ())),
                expectation(cfg_text, where=name),
                alpha=int(doc.get("alpha", 1)),
                configs=tuple(config_from_json(quorums.nodes, c) for c in doc.get("configs", ())),
                bug=doc.get("bug"),
                mains=int(doc.get("mains", 0)),
                retirable=int(doc.get("retirable", 0)),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise PaxiomError(f"malformed paxiom-model line: {exc}", where=name) from None

    def write(self, directory: Path) -> list[Path]:
        """Write the model module and config into `directory`; returns the paths written."""
        directory.mkdir(parents=True, exist_ok=True)
        module, cfg = directory / f"{self.name}.tla", directory / f"{self.name}.cfg"
        module.write_text(self.module_text())
        cfg.write_text(self.cfg_text())
        return [module, cfg]


def expectation(cfg_text: str, *, where: str) -> str | None:
    """The invariant a config says TLC must find violated (None: every invariant holds)."""
    m = _EXPECT.search(cfg_text)
    if m is None:
        raise PaxiomError("no '\\* paxiom-expect: holds' or '\\* paxiom-expect: NAME violated' line", where=where)
    return m[2]


def read_sources(directory: Path) -> dict[str, str]:
    """Every TLA+ module in `directory`, by module name."""
    return {path.stem: path.read_text() for path in sorted(directory.glob("*.tla"))}


def find_configs(directory: Path) -> list[Path]:
    """The model configs in `directory`: every `.cfg` whose module is also there."""
    if not directory.is_dir():
        raise PaxiomError("no such directory", where=str(directory))
    return [cfg for cfg in sorted(directory.glob("*.cfg")) if cfg.with_suffix(".tla").is_file()]


def base_sources(variant: str) -> Mapping[str, str]:
    """The twin spec of `variant` (and any module it instantiates), from the repository's `tla/`."""
    names = [BASE_MODULES[variant], *{"fastpaxos": ["Paxos"], "cheap": ["Reconfig"]}.get(variant, [])]
    missing = [n for n in names if not (TLA_DIR / f"{n}.tla").is_file()]
    if missing:
        raise PaxiomError(f"the TLA+ specs {missing} are missing from {TLA_DIR}")
    return {n: (TLA_DIR / f"{n}.tla").read_text() for n in names}


def _upward_closure(family: QuorumFamily) -> str:
    """Every quorum of the family, as the sets containing one of its minimal quorums."""
    minimal = ", ".join("{" + ", ".join(map(str, sorted(members(q)))) + "}" for q in family.minimal_quorums)
    return f"{{Q \\in SUBSET MCAcceptors : \\E M \\in {{{minimal}}} : M \\subseteq Q}}"


def _tla_set(indices: Iterable[int]) -> str:
    return "{" + ", ".join(map(str, sorted(indices))) + "}"


def _tla_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
