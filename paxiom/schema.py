"""Field-precise validation of the files the tools read: each wrong value named by field and file:line:col.

A reader decodes a file (`paxiom.inputs`), then checks every value it will use against what it must be
before anything trusts it, so a malformed file is one line (`t.json:4:17: constants.replicas: must be an
integer from 1 to 20, not 0`) and never a TypeError deep inside a model. `Fields` holds the checks;
`validate_spec_trace` and `validate_sim_trace` are the schemas of the explorer's and the simulator's
trace files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from paxiom.errors import PaxiomError
from paxiom.inputs import JsonDocument, Rejected, read_json
from paxiom.variants import SIMULATED

FieldPath = tuple[str | int, ...]
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

MAX_ITEMS = 1_000_000
"""Longest list accepted anywhere in a trace file (a step list, a quorum list)."""
MAX_STRING = 10_000
"""Longest string accepted as a name, a value or a note."""
MAX_INT = 2**63 - 1
"""Integers must fit in 64 bits (seeds, message ids); ranges below are tighter where a field has one."""


def describe(value: Any) -> str:
    """A short, safe description of a decoded value for an error message (never a deep repr)."""
    if isinstance(value, Rejected):
        return value.describe()
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if value.bit_length() < 200 else f"a number of about {value.bit_length() * 3 // 10} digits"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else repr(value[:37] + "...")
    if isinstance(value, Mapping):
        return "a table" if value else "an empty table"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)}"
    return type(value).__name__


def dotted(path: FieldPath) -> str:
    """`constants.replicas`, `steps[3].msg`, `constants["odd key"]`."""
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        elif _PLAIN_KEY.fullmatch(step):
            text += f".{step}" if text else step
        else:
            text += f"[{json.dumps(step if len(step) <= 40 else step[:37] + '...')}]"
    return text or "the document"


class Fields:
    """Checks on decoded values; `where(path)` places a field in the file for the error."""

    def __init__(self, where: Callable[[FieldPath], str]) -> None:
        self.where = where

    def fail(self, path: FieldPath, message: str) -> PaxiomError:
        return PaxiomError(f"{dotted(path)}: {message}", where=self.where(path))

    def table(
        self, value: Any, path: FieldPath, *, required: Sequence[str] = (), optional: Sequence[str] | None = ()
    ) -> dict[str, Any]:
        """An object with every `required` key and no key outside required + optional (None: any key)."""
        if not isinstance(value, dict):
            raise self.fail(path, f"must be an object, not {describe(value)}")
        for key in required:
            if key not in value:
                raise self.fail((*path, key), "missing")
        if optional is not None:
            unknown = [k for k in value if k not in required and k not in optional]
            if unknown:
                known = ", ".join([*required, *optional])
                raise self.fail((*path, unknown[0]), f"unknown key (expected {known})")
        return value

    def integer(self, value: Any, path: FieldPath, low: int = -MAX_INT, high: int = MAX_INT) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            bounds = f"at least {low}" if high == MAX_INT else f"from {low} to {high}"
            raise self.fail(path, f"must be an integer {bounds}, not {describe(value)}")
        return value

    def optional_integer(self, value: Any, path: FieldPath, low: int, high: int) -> int | None:
        return None if value is None else self.integer(value, path, low, high)

    def string(self, value: Any, path: FieldPath, *, choices: Sequence[str] = ()) -> str:
        if not isinstance(value, str) or len(value) > MAX_STRING:
            raise self.fail(path, f"must be a string, not {describe(value)}")
        if choices and value not in choices:
            raise self.fail(path, f"must be one of {', '.join(choices)}, not {describe(value)}")
        return value

    def array(self, value: Any, path: FieldPath, *, low: int = 0, high: int = MAX_ITEMS) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(path, f"must be a list, not {describe(value)}")
        if not low <= len(value) <= high:
            raise self.fail(path, f"must hold {low} to {high:,} items, not {len(value):,}")
        return value

    def strings(
        self, value: Any, path: FieldPath, *, low: int = 0, high: int = MAX_ITEMS, choices: Sequence[str] = ()
    ) -> list[str]:
        """A list of distinct strings."""
        items = [
            self.string(v, (*path, i), choices=choices)
            for i, v in enumerate(self.array(value, path, low=low, high=high))
        ]
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item in seen:
                raise self.fail((*path, i), f"{describe(item)} is listed twice")
            seen.add(item)
        return items

    def scalar(self, value: Any, path: FieldPath) -> int | str | None:
        """A step argument: a 64-bit integer, a string or null."""
        if value is None or isinstance(value, str):
            return self.string(value, path) if value is not None else None
        return self.integer(value, path)


def fields_of(document: JsonDocument) -> Fields:
    return Fields(document.where)


# --- the explorer's trace files (paxiom/trace.py) -------------------------------------------------------------

SPEC_VARIANTS = ("paxos", "multipaxos", "fastpaxos", "reconfig", "cheap")
MAX_SPEC_NODES = 20
"""A spec trace's quorums are enumerated by the explorer (spec.quorums.ENUMERATION_LIMIT)."""
MAX_SPEC_BALLOT = 1_000
MAX_SPEC_STEPS = 10_000
"""Longest spec trace replayed (counterexamples are tens of steps; every step checks every invariant)."""
MAX_SUBSET_CHECKS = 2**23
"""The spec tabulates every subset of the nodes against each listed quorum (2^n x quorums per family):
about ten seconds at this bound, hours at 20 nodes with thousands of quorums."""


def validate_spec_trace(document: JsonDocument) -> dict[str, Any]:
    """Check an explorer trace file ({"variant", "constants", "steps"}) field by field; returns the document."""
    f = fields_of(document)
    doc = f.table(document.value, (), required=("variant", "constants", "steps"), optional=None)
    variant = f.string(doc["variant"], ("variant",), choices=SPEC_VARIANTS)
    c = ("constants",)
    optional = {
        "paxos": ("fast",),
        "multipaxos": ("fast", "slots"),
        "fastpaxos": ("fast", "fast_ballots"),
        "reconfig": ("slots", "alpha", "configs", "bug"),
        "cheap": ("slots", "alpha", "mains", "retirable", "bug"),
    }[variant]
    constants = f.table(
        doc["constants"], c, required=("nodes", "phase1", "phase2", "values", "max_ballot"), optional=optional
    )
    nodes = f.strings(constants["nodes"], (*c, "nodes"), low=1, high=MAX_SPEC_NODES)
    for family in ("phase1", "phase2", "fast"):
        if family in constants:
            quorums = f.array(constants[family], (*c, family), low=1)
            for i, quorum in enumerate(quorums):
                f.strings(quorum, (*c, family, i), low=1, choices=nodes)
            _tabulable(f, (*c, family), quorums, nodes)
    f.strings(constants["values"], (*c, "values"), low=1, high=100)
    f.integer(constants["max_ballot"], (*c, "max_ballot"), 0, MAX_SPEC_BALLOT)
    if "slots" in constants:
        f.integer(constants["slots"], (*c, "slots"), 1, 100)
    if "fast_ballots" in constants:
        for i, b in enumerate(f.array(constants["fast_ballots"], (*c, "fast_ballots"))):
            f.integer(b, (*c, "fast_ballots", i), 0, MAX_SPEC_BALLOT)
    _reconfig_constants(f, constants, nodes, variant)
    for i, step in enumerate(f.array(doc["steps"], ("steps",), high=MAX_SPEC_STEPS)):
        f.string(f.table(step, ("steps", i), required=("action",), optional=None)["action"], ("steps", i, "action"))
        for key, value in step.items():
            f.scalar(value, ("steps", i, key))
    return doc


def _tabulable(f: Fields, path: FieldPath, quorums: list[Any], nodes: list[str]) -> None:
    if 2 ** len(nodes) * len(quorums) > MAX_SUBSET_CHECKS:
        raise f.fail(
            path,
            f"{len(quorums):,} quorums over {len(nodes)} nodes is more than the spec can tabulate "
            f"(2^nodes x quorums at most 2^{MAX_SUBSET_CHECKS.bit_length() - 1}); "
            "certify such quorums with paxiom quorum check",
        )


def _reconfig_constants(f: Fields, constants: dict[str, Any], nodes: list[str], variant: str) -> None:
    """reconfig's window, deliberate bug and further configurations (each {"phase1", "phase2"} over `nodes`);
    cheap's window, bug, and how many mains there are and how many of them may be retired."""
    c = ("constants",)
    if "alpha" in constants:
        f.integer(constants["alpha"], (*c, "alpha"), 1, 100)
    if "bug" in constants:
        bugs = ("aux-quorum", "aux-commands") if variant == "cheap" else ("early", "mixed")
        f.string(constants["bug"], (*c, "bug"), choices=bugs)
    for name in ("mains", "retirable"):
        if name in constants:
            f.integer(constants[name], (*c, name), 0, len(nodes))
    for k, config in enumerate(f.array(constants.get("configs", []), (*c, "configs"), high=MAX_SPEC_NODES)):
        families = f.table(config, (*c, "configs", k), required=("phase1", "phase2"), optional=())
        for family, quorums in families.items():
            for i, quorum in enumerate(f.array(quorums, (*c, "configs", k, family), low=1, high=MAX_SPEC_NODES)):
                f.strings(quorum, (*c, "configs", k, family, i), low=1, choices=nodes)
            _tabulable(f, (*c, "configs", k, family), quorums, nodes)


# --- the simulator's trace files (impl/sim/trace.py) ----------------------------------------------------------

MAX_SIM_REPLICAS = 20
"""The simulator enumerates its replicas' quorums (spec.quorums.ENUMERATION_LIMIT)."""
SIM_POSITIVE = ("election_timeout", "heartbeat_interval", "window", "batch_size", "snapshot_interval", "alpha")
MAX_SIM_SETTING = 1_000_000
MAX_QUIESCE_ROUNDS = 10_000
"""A quiesce step waits this many rounds at most (the simulator's own runs wait 100 to 400)."""
MAX_SIM_STEPS = 100_000
"""Longest schedule replayed (a shrunk finding is a few dozen steps; a default run a few thousand)."""


def validate_sim_trace(
    document: JsonDocument,
    *,
    variant: str,
    settings: Sequence[str],
    actions: Mapping[str, Sequence[str]],
    mutations: Sequence[str],
) -> dict[str, Any]:
    """Check a simulation trace file field by field before the simulator sees it; returns the document.

    `settings`, `actions` and `mutations` come from the simulator (its ClusterSettings fields, its step
    kinds with their arguments, its mutation names), so the schema follows it as it grows.
    """
    f = fields_of(document)
    doc = f.table(document.value, (), required=("variant", "constants", "steps"), optional=None)
    f.string(doc["variant"], ("variant",), choices=(variant,))
    c = ("constants",)
    constants = f.table(doc["constants"], c, optional=settings)
    replicas = f.integer(constants.get("replicas", 3), (*c, "replicas"), 1, MAX_SIM_REPLICAS)
    for name in ("phase1", "phase2", "fast"):
        f.optional_integer(constants.get(name), (*c, name), 1, replicas)
    if "variant" in constants:
        f.string(constants["variant"], (*c, "variant"), choices=SIMULATED)
    for name in SIM_POSITIVE:
        if name in constants:
            f.integer(constants[name], (*c, name), 1, MAX_SIM_SETTING)
    if "seed" in constants:
        f.integer(constants["seed"], (*c, "seed"))
    if "mutations" in constants:
        f.strings(constants["mutations"], (*c, "mutations"), choices=mutations)
    for i, step in enumerate(f.array(doc["steps"], ("steps",), high=MAX_SIM_STEPS)):
        at = ("steps", i)
        kind = f.string(
            f.table(step, at, required=("action",), optional=None)["action"], (*at, "action"), choices=tuple(actions)
        )
        f.table(step, at, required=("action", *actions[kind]), optional=("note",))
        for key, value in step.items():
            _sim_argument(f, key, value, (*at, key), replicas)
    return doc


def _sim_argument(f: Fields, key: str, value: Any, path: FieldPath, replicas: int) -> None:
    if key == "replica":
        f.integer(value, path, 0, replicas - 1)
    elif key in ("side", "members"):
        for j, r in enumerate(f.array(value, path, high=replicas)):
            f.integer(r, (*path, j), 0, replicas - 1)
    elif key == "msg":
        f.integer(value, path, -1)  # -1: a message no longer in flight (a shrunk schedule keeps the step)
    elif key == "seq":
        f.integer(value, path, 1)
    elif key == "rounds":
        f.integer(value, path, 0, MAX_QUIESCE_ROUNDS)
    elif key in ("action", "note", "client", "command"):
        f.string(value, path)
    else:
        f.scalar(value, path)


def read_sim_trace(path: str | Path, **schema: Any) -> dict[str, Any]:
    """Read and validate a simulation trace file (keyword arguments as for `validate_sim_trace`)."""
    return validate_sim_trace(read_json(path), **schema)
