"""Reconfiguration through the log, with Lamport's α-window ("Reconfiguring a State Machine", 2010).

A configuration is a set of acceptors with its own phase-1 and phase-2 quorums. It is changed by choosing a
special command, `cfgK` (switch to configuration K), in some slot i like any other command; it governs the
slots from i + α on. So the configuration of slot s is the one in force after executing slots 0..s − α
(the initial configuration for s < α), and a leader may propose in slot s only once it knows that prefix is
chosen. α is the pipeline depth: a leader may have α slots in flight without waiting for a decision.

Why the α-window and not Stoppable / Vertical Paxos: paxiom's service runs pipelined Multi-Paxos, which the
window keeps pipelined (a stop-the-world change would drain the pipeline at every reconfiguration), and
Cheap Paxos retires a failed main acceptor exactly this way — by a command in the log (`proofs/cheap.py`).
Vertical Paxos needs an external configuration master; the window needs nothing outside the log.

Otherwise this is `spec/multipaxos.py`: one promise per acceptor covers every slot, and per slot the leader
applies the highest-vote rule — over a phase-1 quorum *of the slot's configuration*. A 2a names the
configuration its leader used, its 2b votes copy it, and a value is chosen by a phase-2 quorum of that
configuration. The invariant `votes_governed` says every proposal and vote names the configuration that
governs its slot: the condition that makes per-slot Paxos safety carry over across configurations.

Two deliberate bugs (`Config.bug`) show what the window prevents, and the explorer finds both:
- "early": a leader applies a configuration as soon as it is chosen (no window), using whatever the chosen
  prefix below the slot says — so a slot may run under the old configuration and later under the new one;
- "mixed": a leader may take its phase-1 quorum from any configuration, old or new, while the votes count
  against the slot's own.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any, ClassVar, NamedTuple, cast

from paxiom.spec import multipaxos, voting
from paxiom.spec.acceptor import promises_only_grow
from paxiom.spec.model import Action, ModelBase
from paxiom.spec.multipaxos import M1b, one_value_per_ballot, promise_monotonicity
from paxiom.spec.paxos import M1a
from paxiom.spec.quorums import Explicit, QuorumSystem, Violation, members, quorum_intersection

BUGS = ("early", "mixed")
"""The deliberately unsafe variants (see the module docstring)."""


class M2a(NamedTuple):
    """The leader of `bal` proposes `val` in `slot`, under configuration `conf`."""

    bal: int
    slot: int
    val: str
    conf: int
    type: str = "2a"


class M2b(NamedTuple):
    acc: int
    bal: int
    slot: int
    val: str
    conf: int
    type: str = "2b"


Message = M1a | M1b | M2a | M2b


State = multipaxos.LogState[Message]
"""Multi-Paxos's state (`spec/multipaxos.py`), its 2a and 2b messages naming a configuration."""


@dataclass(frozen=True)
class Config(multipaxos.Config):
    """Multi-Paxos's constants, with `quorums` the initial configuration (numbered 0) over every acceptor
    that ever takes part, `new` the configurations 1.. a `cfgK` command may switch to, and the window α."""

    alpha: int = 1
    new: tuple[QuorumSystem, ...] = ()
    bug: str | None = None
    commands: tuple[str, ...] = field(init=False, repr=False)
    members: tuple[frozenset[int], ...] = field(init=False, repr=False)
    bugs: ClassVar[tuple[str, ...]] = BUGS
    """The deliberate bugs this variant knows (a variant built on this one names its own)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.alpha < 1:
            raise ValueError("alpha must be at least 1: with 0 a slot's configuration would depend on its own value")
        if any(c.nodes != self.quorums.nodes for c in self.new):
            raise ValueError("every configuration must range over the same acceptors as the initial one")
        if self.bug not in (None, *self.bugs):
            raise ValueError(f"unknown bug {self.bug!r}; choose one of {', '.join(self.bugs)}")
        switches = tuple(switch(k) for k in range(1, len(self.new) + 1))
        if set(switches) & set(self.values):
            raise ValueError(f"values may not be named like configuration commands ({', '.join(switches)})")
        object.__setattr__(self, "commands", (*self.values, *switches))
        object.__setattr__(self, "members", tuple(config_members(c) for c in self.configs))

    @property
    def configs(self) -> tuple[QuorumSystem, ...]:
        return (self.quorums, *self.new)

    def may_vote(self, a: int, conf: int, v: str) -> bool:
        """Whether acceptor a may vote for v in a slot that configuration conf governs: here, if a is a member."""
        return a in self.members[conf]


def switch(k: int) -> str:
    """The command that, chosen in slot i, makes configuration k govern slots i + α on."""
    return f"cfg{k}"


def switched_to(cfg: Config, v: str) -> int | None:
    """The configuration command v switches to (None for an ordinary command)."""
    return cfg.commands.index(v) - len(cfg.values) + 1 if v in cfg.commands[len(cfg.values) :] else None


def config_members(qs: QuorumSystem) -> frozenset[int]:
    """The acceptors of a configuration: those in one of its minimal quorums."""
    return frozenset().union(*(members(q) for q in qs.phase1.minimal_quorums + qs.phase2.minimal_quorums))


def without(qs: QuorumSystem, node: str) -> QuorumSystem:
    """A majority configuration of qs's acceptors other than `node` (the default second configuration)."""
    rest = [n for n in qs.nodes if n != node]
    if not rest:
        raise ValueError(f"removing {node} leaves no acceptor")
    family = Explicit(qs.nodes, itertools.combinations(rest, len(rest) // 2 + 1))
    return QuorumSystem(family, family, name=f"majority of {', '.join(rest)}")


# ---------------------------------------------------------------- which configuration governs a slot


def chosen(cfg: Config, s: State) -> dict[int, set[str]]:
    """Per slot, the values a phase-2 quorum of the configuration their 2b messages name voted for at one
    ballot (slots with none are left out)."""
    log: dict[int, set[str]] = {}
    for m in s.msgs:
        if m.type == "2b":
            log.setdefault(m.slot, set())  # type: ignore[union-attr]
    for slot in list(log):
        for c, qs in enumerate(cfg.configs):
            ballot_votes = [(m.acc, m.bal, m.val) for m in _votes(s, slot) if m.conf == c]
            log[slot] |= voting.chosen(ballot_votes, partial(_same_table, qs.phase2.table))
    return {slot: vals for slot, vals in log.items() if vals}


def _same_table(table: voting.QuorumTable, _ballot: int) -> voting.QuorumTable:
    return table


def _votes(s: State, slot: int) -> list[M2b]:
    return [m for m in s.msgs if isinstance(m, M2b) and m.slot == slot]


def after(cfg: Config, log: dict[int, set[str]], last: int) -> int:
    """The configuration in force after executing slots 0..last: the latest switch chosen there (the lowest
    configuration where a slot has several, which only an unsafe run produces), else the initial one."""
    conf = 0
    for slot in range(last + 1):
        targets = {k for v in log.get(slot, ()) if (k := switched_to(cfg, v)) is not None}
        conf = min(targets, default=conf)
    return conf


def decided_by(alpha: int, slot: int) -> int:
    """The last slot of the prefix that decides `slot`'s configuration: slot − α (below 0: the initial one).
    The α-window itself, stated once: the implementation's core (`impl/reconfig.py`) uses it too."""
    return slot - alpha


def governing(cfg: Config, log: dict[int, set[str]], slot: int) -> int | None:
    """The configuration that governs `slot`: the one after slots 0..slot − α, known once they are all chosen
    (None until then)."""
    last = decided_by(cfg.alpha, slot)
    if any(j not in log for j in range(last + 1)):
        return None
    return after(cfg, log, last)


def leader_config(cfg: Config, log: dict[int, set[str]], slot: int) -> int | None:
    """The configuration a leader uses in `slot`: the governing one, or under bug "early" the one after the
    longest chosen prefix below the slot, however short."""
    if cfg.bug != "early":
        return governing(cfg, log, slot)
    prefix = next((j for j in range(slot) if j not in log), slot)
    return after(cfg, log, prefix - 1)


# ---------------------------------------------------------------- actions


def init(cfg: Config) -> State:
    return _state(multipaxos.init(cfg))


def _state(t: multipaxos.State) -> State:
    """A Multi-Paxos state as this spec's (they share their layout; only the message types differ)."""
    return State(t.max_bal, t.max_vbal, t.max_val, cast(frozenset[Message], t.msgs))


def phase1a(cfg: Config, s: State, b: int) -> State | None:
    """A would-be leader starts ballot b for the whole log, in every configuration at once."""
    return s._replace(msgs=s.msgs | {M1a(b)})


def phase1b(cfg: Config, s: State, a: int, b: int) -> State | None:
    """As in Multi-Paxos: a promises b for all slots (whatever configuration governs them)."""
    t = multipaxos.phase1b(cfg, cast(multipaxos.State, s), a, b)
    return None if t is None else _state(t)


def proposable(cfg: Config, s: State, b: int, slot: int, conf: int) -> set[str]:
    """Values the leader of b may propose in `slot` under `conf`: the highest vote a promised phase-1 quorum
    of `conf` reported for that slot, or any command if it reported none (bug "mixed": a quorum of any
    configuration will do)."""
    heard = {m.acc: m.votes[slot] for m in s.msgs if m.type == "1b" and m.bal == b}  # type: ignore[union-attr]
    families = cfg.configs if cfg.bug == "mixed" else (cfg.configs[conf],)
    allowed: set[str] = set()
    for qs in families:
        for quorum_reports in voting.promised_quorums(qs.phase1.quorums, heard):
            top, vals = voting.highest_vote(list(quorum_reports.values()))
            allowed |= vals if top >= 0 else set(cfg.commands)
    return allowed


def _proposal(s: State, b: int, slot: int) -> M2a | None:
    proposals = (m for m in s.msgs if isinstance(m, M2a) and m.bal == b and m.slot == slot)
    return next(proposals, None)


def phase2a(cfg: Config, s: State, b: int, slot: int, v: str) -> State | None:
    """The leader of b proposes v in `slot` under the slot's configuration, once per (ballot, slot); it must
    know that configuration, so it waits until slot − α is decided."""
    if not 0 <= slot < cfg.slots or _proposal(s, b, slot) is not None:
        return None
    conf = leader_config(cfg, chosen(cfg, s), slot)
    if conf is None or v not in proposable(cfg, s, b, slot, conf):
        return None
    return s._replace(msgs=s.msgs | {M2a(b, slot, v, conf)})


def phase2b(cfg: Config, s: State, a: int, b: int, slot: int, v: str) -> State | None:
    """Acceptor a, if the proposal's configuration lets it vote (`Config.may_vote`: a member), votes for it
    unless it promised a higher ballot."""
    m = _proposal(s, b, slot)
    if m is None or m.val != v or not cfg.may_vote(a, m.conf, v):
        return None
    logs = multipaxos.vote(cast(multipaxos.State, s), a, b, slot, v)
    return None if logs is None else State(*logs, s.msgs | {M2b(a, b, slot, v, m.conf)})


# ---------------------------------------------------------------- invariants


def type_ok(cfg: Config, s: State) -> str | None:
    """Multi-Paxos's shape, over every command, with configurations among those defined."""
    reason = multipaxos.well_formed(cfg, cast(multipaxos.State, s), cfg.commands)
    if reason is not None:
        return reason
    for m in s.msgs:
        if m.type in ("2a", "2b") and not 0 <= m.conf < len(cfg.configs):  # type: ignore[union-attr]
            return f"message {m} names no configuration"
    return None


def votes_governed(cfg: Config, s: State) -> str | None:
    """Every proposal and vote in a slot names the configuration that governs the slot (so it is counted
    against that configuration's quorums alone)."""
    log = chosen(cfg, s)
    for m in sorted(s.msgs, key=str):
        if m.type in ("2a", "2b"):
            governs = governing(cfg, log, m.slot)  # type: ignore[union-attr]
            if m.conf != governs:  # type: ignore[union-attr]
                said = "is not known yet" if governs is None else f"is {governs}"
                return f"{m} names configuration {m.conf}, but slot {m.slot}'s {said}"  # type: ignore[union-attr]
    return None


def conf_at(cfg: Config, s: State, log: dict[int, set[str]], slot: int, b: int) -> int:
    """The configuration whose quorums decide `slot` at ballot b: the one its proposal names, else the one
    governing the slot (the initial one while that is unknown)."""
    m = _proposal(s, b, slot)
    if m is not None:
        return m.conf
    governs = governing(cfg, log, slot)
    return 0 if governs is None else governs


def votes_safe(cfg: Config, s: State) -> str | None:
    """SafeAt, slot by slot, each ballot's choosability judged by that ballot's configuration."""
    log = chosen(cfg, s)
    for slot in range(cfg.slots):
        slot_votes = [(m.acc, m.bal, m.val) for m in _votes(s, slot)]

        def table(b: int, slot: int = slot) -> voting.QuorumTable:
            return cfg.configs[conf_at(cfg, s, log, slot, b)].phase2.table

        reason = voting.unsafe_vote(slot_votes, s.max_bal, cfg.commands, table)
        if reason is not None:
            return f"slot {slot}: {reason}"
    return None


def agreement(cfg: Config, s: State) -> str | None:
    """At most one command is chosen in each slot (Multi-Paxos's check over this spec's `chosen`)."""
    return multipaxos.one_per_slot(chosen(cfg, s))


def validity(cfg: Config, s: State) -> str | None:
    """Every chosen command was proposed in that slot by some leader."""
    return multipaxos.all_proposed(s.msgs, chosen(cfg, s))


def stability(cfg: Config, s: State, t: State) -> str | None:
    """Once chosen in a slot, always chosen there."""
    if s.msgs <= t.msgs:
        return None  # chosen depends only on the 2b messages, monotonically
    return multipaxos.none_lost(chosen(cfg, s), chosen(cfg, t))


# ---------------------------------------------------------------- the model


class ReconfigModel(ModelBase[State, Config]):
    """Multi-Paxos reconfigured through the log with an α-window, with fixed constants."""

    variant = "reconfig"
    actions = {"Phase1a": phase1a, "Phase1b": phase1b, "Phase2a": phase2a, "Phase2b": phase2b}
    state_checks: ClassVar[tuple[Callable[[Any, Any], str | None], ...]] = (
        type_ok,
        promise_monotonicity,
        one_value_per_ballot,
        votes_governed,
        votes_safe,
        agreement,
        validity,
    )
    step_checks = {"promise_monotonicity": promises_only_grow, "stability": stability}

    def __init__(self, cfg: Config) -> None:
        super().__init__(cfg)
        self.config_violation: Violation | None = next(
            (v for qs in cfg.configs if (v := quorum_intersection(qs)) is not None), None
        )

    def init(self) -> list[State]:
        return [init(self.cfg)]

    def next(self, s: State) -> Iterator[tuple[Action, State]]:
        """Multi-Paxos's steps (`multipaxos.leader_steps` and `acceptor_steps`, which skip those that change
        nothing), a slot proposed in only under the configuration its leader knows to use."""
        cfg = self.cfg
        log = chosen(cfg, s)

        def proposals(b: int, slot: int) -> Iterator[M2a]:
            conf = leader_config(cfg, log, slot)
            if conf is not None:
                yield from (M2a(b, slot, v, conf) for v in sorted(proposable(cfg, s, b, slot, conf)))

        yield from multipaxos.leader_steps(cfg, s, proposals)
        yield from multipaxos.acceptor_steps(cfg, s, phase1b, phase2b)

    def render(self, s: State) -> dict[str, Any]:
        log = chosen(self.cfg, s)
        governs = {str(slot): governing(self.cfg, log, slot) for slot in range(self.cfg.slots)}
        return multipaxos.render_log(self.cfg.quorums.nodes, s, log) | {"governing": governs}

    def constants(self) -> dict[str, Any]:
        cfg = self.cfg
        doc = multipaxos.log_constants(cfg)
        doc |= {"alpha": cfg.alpha, "configs": [config_to_json(c) for c in cfg.new]}
        return doc | ({"bug": cfg.bug} if cfg.bug else {})


def config_to_json(qs: QuorumSystem) -> dict[str, list[list[str]]]:
    """A further configuration's quorums by name (its acceptors are the initial configuration's)."""
    return {p: [f.names(q) for q in f.minimal_quorums] for p, f in (("phase1", qs.phase1), ("phase2", qs.phase2))}


def config_from_json(nodes: tuple[str, ...], doc: Any) -> QuorumSystem:
    """The inverse of `config_to_json`, over `nodes`; raises ValueError on anything malformed."""
    if isinstance(doc, QuorumSystem):
        return doc
    if not isinstance(doc, dict) or set(doc) != {"phase1", "phase2"}:
        raise ValueError(f"a configuration is {{'phase1': [...], 'phase2': [...]}}, not {doc!r}")
    return QuorumSystem(Explicit(nodes, doc["phase1"]), Explicit(nodes, doc["phase2"]))
