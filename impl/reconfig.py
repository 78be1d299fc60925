"""Reconfiguration in the core: configuration commands decided through the log, with Lamport's α-window.

A configuration change is a slot whose value is one command whose op is `CONFIG_OP` followed by the new
configuration as canonical JSON (its nodes and minimal phase-1 and phase-2 quorums by name). Chosen in slot
i, it governs slots from i + α on (`spec.reconfig.decided_by`, the window the spec states once): the
configuration of slot s is the one in force after slots 0..s − α, known once they are all committed. So
a leader proposes in slot s only once it has committed slot s − α, counts the slot's phase-2 quorums in
that configuration, and sends the slot's Accepts to its members; its one phase 1 must hold a phase-1 quorum
of every configuration that governs an open slot (`spec/reconfig.py`: `phase2a`, `proposable`, `chosen`).

A switch must keep every node the configuration in force has, in order, and may append new ones (a node
keeps its index for life: ballots and bitmasks stay valid), and it must pass the quorum intersection
conditions. Anything else with the prefix is an ordinary command: every replica decides that alike from
the same log, so an invalid switch can never split the cluster. The switches a snapshot compacts away are
carried in it (`retained`), so a replica restored from it (after a restart or a catch-up) knows the
configurations of the slots above it.

Cheap Paxos (`spec/cheap.py`): a configuration may name auxiliaries among its members. They vote only for
configuration commands, which retire a failed main: the leader sends them no other Accept (`Epoch.voters`).
"""

from __future__ import annotations

import bisect
import itertools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from paxiom.impl.invariant import BrokenInvariant
from paxiom.impl.messages import ChosenEntry
from paxiom.impl.values import Command, Value
from paxiom.spec.quorums import Explicit, QuorumSystem, quorum_intersection
from paxiom.spec.reconfig import config_members, decided_by

CONFIG_OP = b"paxiom/config "
"""The op prefix of a configuration command (the rest is the configuration as canonical JSON)."""


def encode_config(
    qs: QuorumSystem, service: dict[str, Any] | None = None, auxiliaries: frozenset[int] = frozenset()
) -> bytes:
    """A configuration as canonical JSON: its nodes and the minimal quorums of each phase, by name, its
    auxiliaries (Cheap Paxos) if any, and optionally what the service needs besides (`service`: opaque to
    the core, e.g. new nodes' addresses)."""
    doc: dict[str, Any] = {
        "nodes": list(qs.nodes),
        "phase1": sorted(qs.phase1.names(q) for q in qs.phase1.minimal_quorums),
        "phase2": sorted(qs.phase2.names(q) for q in qs.phase2.minimal_quorums),
    }
    if auxiliaries:
        doc["auxiliaries"] = [qs.nodes[a] for a in sorted(auxiliaries)]
    if service is not None:
        doc["service"] = service
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


KEYS = {"nodes", "phase1", "phase2", "auxiliaries", "service"}
"""What a configuration command's JSON may hold."""


def _document(value: Value) -> dict[str, Any] | None:
    if len(value) != 1 or not is_config(value[0]):
        return None
    try:
        doc = json.loads(value[0].op[len(CONFIG_OP) :])
    except ValueError:
        return None
    return doc if isinstance(doc, dict) and {"nodes", "phase1", "phase2"} <= set(doc) <= KEYS else None


def auxiliaries_of(value: Value) -> frozenset[int]:
    """The auxiliaries a configuration command names, by index among its nodes (none if it names none,
    or names one that is not a node)."""
    doc = _document(value)
    names, nodes = (doc or {}).get("auxiliaries", []), (doc or {}).get("nodes", [])
    if not isinstance(names, list) or not isinstance(nodes, list) or not all(n in nodes for n in names):
        return frozenset()
    return frozenset(nodes.index(n) for n in names)


def service_of(value: Value) -> dict[str, Any] | None:
    """The service's part of a configuration command (None if it has none, or is none)."""
    doc = _document(value)
    service = None if doc is None else doc.get("service")
    return service if isinstance(service, dict) else None


def decode_config(data: bytes) -> QuorumSystem | None:
    """The configuration `encode_config` gave `data`, or None for anything else (malformed, unknown nodes)."""
    try:
        doc = json.loads(data)
        if not isinstance(doc, dict) or not {"nodes", "phase1", "phase2"} <= set(doc) <= KEYS:
            return None
        nodes = doc["nodes"]
        if not isinstance(nodes, list) or not all(isinstance(n, str) for n in nodes):
            return None
        families: list[Explicit] = []
        for phase in ("phase1", "phase2"):
            quorums = doc[phase]
            if not isinstance(quorums, list) or not all(
                isinstance(q, list) and all(isinstance(n, str) for n in q) for q in quorums
            ):
                return None
            families.append(Explicit(nodes, quorums))
        return QuorumSystem(families[0], families[1])
    except (ValueError, TypeError):
        return None


def config_command(client: str, seq: int, qs: QuorumSystem, auxiliaries: frozenset[int] = frozenset()) -> Command:
    """The command that, chosen in slot i, makes `qs` (with those of its members `auxiliaries`) govern
    slots i + α on."""
    return Command(client, seq, CONFIG_OP + encode_config(qs, auxiliaries=auxiliaries))


def is_config(command: Command) -> bool:
    """Whether `command` is meant as a configuration command (it goes alone in its slot)."""
    return command.op.startswith(CONFIG_OP)


def switch_of(value: Value) -> QuorumSystem | None:
    """The configuration a slot's value switches to, if it is a configuration command (alone in its slot)."""
    if len(value) != 1 or not is_config(value[0]):
        return None
    return decode_config(value[0].op[len(CONFIG_OP) :])


def valid_switch(current: QuorumSystem, new: QuorumSystem) -> bool:
    """Whether `new` may follow `current`: their node lists agree where both name nodes (a switch appends
    the nodes it adds, and a node keeps its index: one list is the start of the other, so replicas whose
    initial lists are extensions of one another judge alike), and its own quorums intersect."""
    common = min(current.n, new.n)
    return new.nodes[:common] == current.nodes[:common] and quorum_intersection(new) is None


@dataclass(frozen=True)
class Epoch:
    """A configuration and the committed entry whose switch chose it (None: the initial one)."""

    quorums: QuorumSystem
    entry: ChosenEntry | None = None
    auxiliaries: frozenset[int] = frozenset()
    """Members that vote only for configuration commands (Cheap Paxos's auxiliary acceptors)."""

    @property
    def slot(self) -> int:
        return -1 if self.entry is None else self.entry.slot

    @cached_property
    def members(self) -> frozenset[int]:
        """The acceptors of this configuration (those in one of its minimal quorums)."""
        return config_members(self.quorums)

    def voters(self, value: Value) -> frozenset[int]:
        """Who may vote for `value` in a slot of this configuration: every member for a configuration
        command, the members but the auxiliaries for anything else (`spec/cheap.py` may_vote)."""
        return self.members if switch_of(value) is not None else self.members - self.auxiliaries


class Configurations:
    """What a replica knows of its configurations: the initial one and every valid switch it committed."""

    def __init__(
        self,
        initial: QuorumSystem,
        alpha: int | None,
        retained: Iterable[ChosenEntry] = (),
        auxiliaries: frozenset[int] = frozenset(),
    ) -> None:
        """`alpha` None: a cluster that never reconfigures (no switch is one, no slot waits for a window);
        `auxiliaries`: those of the initial configuration (Cheap Paxos)."""
        self.alpha = alpha
        self.epochs: list[Epoch] = [Epoch(initial, None, auxiliaries)]
        """Sorted by slot."""
        self.learned = -1
        """The last committed slot this has seen (switches are learned in slot order)."""
        self.adopt(retained)

    @property
    def latest(self) -> Epoch:
        return self.epochs[-1]

    @property
    def universe(self) -> int:
        """How many nodes the configurations known here name (nodes are only ever appended)."""
        return max(e.quorums.n for e in self.epochs)

    @property
    def nodes(self) -> tuple[str, ...]:
        """The names of those nodes, by index."""
        return max((e.quorums.nodes for e in self.epochs), key=len)

    def learn(self, entry: ChosenEntry) -> None:
        """`entry` is committed, the slot after the last one learned: if it is a valid switch, its
        configuration governs from its slot + α on."""
        if entry.slot != self.learned + 1:
            raise BrokenInvariant(f"configurations learned slot {entry.slot} after slot {self.learned}")
        self.learned = entry.slot
        self._switch(entry)

    def _switch(self, entry: ChosenEntry) -> None:
        if self.alpha is None:
            return
        new = switch_of(entry.value)
        if new is not None and valid_switch(self.latest.quorums, new):
            self.epochs.append(Epoch(new, entry, auxiliaries_of(entry.value)))

    def adopt(self, retained: Iterable[ChosenEntry]) -> None:
        """The switches a snapshot carried (`retained`), in slot order, up to the slot it covers."""
        for entry in retained:
            if entry.slot > self.learned:
                self._switch(entry)

    def skip_to(self, last: int) -> None:
        """Every slot up to `last` is committed through a snapshot whose switches were adopted."""
        self.learned = max(self.learned, last)

    def epoch(self, slot: int, commit: int) -> Epoch | None:
        """The configuration governing `slot`, known once every slot up to slot − α is committed (`commit`
        is the first slot that is not); None before."""
        if self.alpha is None:
            return self.epochs[0]
        last = decided_by(self.alpha, slot)
        if last >= commit:
            return None
        if last > self.learned:
            raise BrokenInvariant(f"slot {last} is committed but its configuration was never learned")
        return self.after(last)

    def after(self, last: int) -> Epoch:
        """The configuration in force after slots 0..last: the latest switch among them, else the initial."""
        return self.epochs[max(bisect.bisect_right([e.slot for e in self.epochs], last) - 1, 0)]

    def open_epochs(self, commit: int) -> list[Epoch]:
        """The configurations that govern the slots whose configuration is known but not yet committed:
        commit .. commit + α − 1 (a new leader's phase 1 must cover every one)."""
        if self.alpha is None:
            return self.epochs[:1]
        found = [self.after(decided_by(self.alpha, s)) for s in range(commit, commit + self.alpha)]
        return list({id(e): e for e in found}.values())

    def retained(self, last: int) -> tuple[ChosenEntry, ...]:
        """The switches a snapshot up to slot `last` must carry: the one in force after last − α (which
        governs slot last + 1 at least) and every later one up to `last`."""
        if self.alpha is None:
            return ()
        base = self.after(decided_by(self.alpha, last))
        return tuple(e.entry for e in self.epochs if e.entry is not None and base.slot <= e.slot <= last)


def majority_of(nodes: tuple[str, ...], members: Iterable[int]) -> QuorumSystem:
    """A configuration over `nodes` whose quorums (both phases) are the majorities of `members`."""
    chosen = sorted(set(members))
    if not chosen or not all(0 <= m < len(nodes) for m in chosen):
        raise ValueError(f"members {chosen} are not among the {len(nodes)} nodes")
    family = Explicit(nodes, itertools.combinations([nodes[m] for m in chosen], len(chosen) // 2 + 1))
    return QuorumSystem(family, family, name=f"majority of {', '.join(nodes[m] for m in chosen)}")


def over(qs: QuorumSystem, nodes: tuple[str, ...]) -> QuorumSystem:
    """`qs` over a longer list of `nodes` that starts with its own (the nodes it does not name join no quorum)."""
    if nodes[: qs.n] != qs.nodes:
        raise ValueError(f"{list(nodes)} does not start with {list(qs.nodes)}")
    families = [Explicit(nodes, [f.names(q) for q in f.minimal_quorums]) for f in (qs.phase1, qs.phase2)]
    return QuorumSystem(families[0], families[1], name=qs.name)
