"""Multi-Paxos: a log of slots decided by one leader, with one phase 1 for all of them.

An acceptor keeps a single promise `maxBal` covering every slot and, per slot, its latest vote. Its 1b
reports the latest vote of every slot at once, so the leader of ballot b runs phase 1 once and then, slot by
slot, proposes the highest vote a phase-1 quorum reported (or anything, where none voted). This is the
step from single-decree Paxos that makes a replicated log cheap; the safety argument is single-decree
Paxos's applied to each slot (`spec/voting.py`), which is why the invariants below are per slot.

Slots are 0..slots-1. Values are free text; `Config.values` is what the explorer lets leaders propose.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypeVar

from paxiom.spec import voting
from paxiom.spec.acceptor import Acceptor, accept, promise, promises_only_grow
from paxiom.spec.model import Action, ModelBase
from paxiom.spec.paxos import Config as PaxosConfig
from paxiom.spec.paxos import M1a, render_message, replaced

SlotVote = tuple[int, str | None]
"""(ballot, value) of an acceptor's latest vote in one slot; (-1, None) if it never voted there."""


class M1b(NamedTuple):
    """Promise for every slot at once: `votes[slot]` is the acceptor's latest vote in that slot."""

    acc: int
    bal: int
    votes: tuple[SlotVote, ...]
    type: str = "1b"


class M2a(NamedTuple):
    bal: int
    slot: int
    val: str
    type: str = "2a"


class M2b(NamedTuple):
    acc: int
    bal: int
    slot: int
    val: str
    type: str = "2b"


Message = M1a | M1b | M2a | M2b


M = TypeVar("M")


class LogState(NamedTuple, Generic[M]):
    """Per acceptor its promise and, per slot, its latest vote; the messages sent, of a variant's types M."""

    max_bal: tuple[int, ...]
    max_vbal: tuple[tuple[int, ...], ...]
    """max_vbal[a][slot]"""
    max_val: tuple[tuple[str | None, ...], ...]
    msgs: frozenset[M]


State = LogState[Message]


Logs = tuple[tuple[int, ...], tuple[tuple[int, ...], ...], tuple[tuple[str | None, ...], ...]]
"""(max_bal, max_vbal, max_val): the acceptors' part of a state."""

C = TypeVar("C", bound="Config")
S = TypeVar("S", bound=LogState[Any])


@dataclass(frozen=True)
class Config(PaxosConfig):
    slots: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.slots < 1:
            raise ValueError("a log needs at least one slot")


def init(cfg: Config) -> State:
    n, blank = cfg.quorums.n, cfg.slots
    return State((-1,) * n, ((-1,) * blank,) * n, ((None,) * blank,) * n, frozenset())


# ---------------------------------------------------------------- actions


def phase1a(cfg: Config, s: State, b: int) -> State | None:
    """A would-be leader starts ballot b for the whole log."""
    return s._replace(msgs=s.msgs | {M1a(b)})


def phase1b(cfg: Config, s: State, a: int, b: int) -> State | None:
    """Acceptor a promises b for all slots and reports its latest vote in each."""
    if M1a(b) not in s.msgs or promise(Acceptor(s.max_bal[a], -1, None), b) is None:
        return None
    report = tuple(zip(s.max_vbal[a], s.max_val[a], strict=True))
    return LogState(replaced(s.max_bal, a, b), s.max_vbal, s.max_val, s.msgs | {M1b(a, b, report)})


def proposable(cfg: Config, s: State, b: int, slot: int) -> set[str]:
    """Values the leader of b may propose in `slot`: the highest vote some promised phase-1 quorum
    reported for that slot, or anything if that quorum reported none."""
    heard = {m.acc: m.votes[slot] for m in s.msgs if m.type == "1b" and m.bal == b}  # type: ignore[union-attr]
    allowed: set[str] = set()
    for quorum_reports in voting.promised_quorums(cfg.quorums.phase1.quorums, heard):
        top, vals = voting.highest_vote(list(quorum_reports.values()))
        allowed |= vals if top >= 0 else set(cfg.values)
    return allowed


def _proposed(s: State, b: int, slot: int) -> bool:
    return any(m.type == "2a" and m.bal == b and m.slot == slot for m in s.msgs)  # type: ignore[union-attr]


def phase2a(cfg: Config, s: State, b: int, slot: int, v: str) -> State | None:
    """The leader of b proposes v in `slot`, once per (ballot, slot)."""
    if not 0 <= slot < cfg.slots or _proposed(s, b, slot) or v not in proposable(cfg, s, b, slot):
        return None
    return s._replace(msgs=s.msgs | {M2a(b, slot, v)})


def phase2b(cfg: Config, s: State, a: int, b: int, slot: int, v: str) -> State | None:
    """Acceptor a votes for (b, slot, v) unless it promised a higher ballot."""
    if M2a(b, slot, v) not in s.msgs:
        return None
    logs = vote(s, a, b, slot, v)
    return None if logs is None else LogState(*logs, s.msgs | {M2b(a, b, slot, v)})


def vote(s: State, a: int, b: int, slot: int, v: str) -> Logs | None:
    """The acceptors' logs once a votes for v at (b, slot), or None if its promise forbids that vote."""
    if accept(Acceptor(s.max_bal[a], s.max_vbal[a][slot], s.max_val[a][slot]), b, v) is None:
        return None
    return (
        replaced(s.max_bal, a, b),
        replaced(s.max_vbal, a, replaced(s.max_vbal[a], slot, b)),
        replaced(s.max_val, a, replaced(s.max_val[a], slot, v)),
    )


# ---------------------------------------------------------------- derived views


def votes(s: State, slot: int) -> list[voting.Vote]:
    return [(m.acc, m.bal, m.val) for m in s.msgs if m.type == "2b" and m.slot == slot]  # type: ignore[union-attr]


def chosen(cfg: Config, s: State) -> dict[int, set[str]]:
    """Per slot, the values a phase-2 quorum voted for at one ballot (slots with none are left out)."""
    log = {slot: voting.chosen(votes(s, slot), cfg.decision_table) for slot in range(cfg.slots)}
    return {slot: vals for slot, vals in log.items() if vals}


# ---------------------------------------------------------------- invariants


def type_ok(cfg: Config, s: State) -> str | None:
    """Ballots in -1..max_ballot, slots in 0..slots-1, values from the configured set."""
    return well_formed(cfg, s, cfg.values)


def well_formed(cfg: Config, s: State, commands: Iterable[str]) -> str | None:
    """`type_ok` with votes drawn from `commands` (a variant may propose more than `cfg.values`)."""
    votable = {None, *commands}
    for a in cfg.acceptors:
        if not -1 <= s.max_bal[a] <= cfg.max_ballot or len(s.max_vbal[a]) != cfg.slots:
            return f"acceptor {a} has a malformed promise or log"
        for vbal, val in zip(s.max_vbal[a], s.max_val[a], strict=True):
            if not -1 <= vbal <= cfg.max_ballot or (val is None) != (vbal == -1) or val not in votable:
                return f"acceptor {a} has a malformed vote ({vbal}, {val!r})"
    for m in s.msgs:
        if m.bal not in cfg.ballots or not 0 <= getattr(m, "slot", 0) < cfg.slots:
            return f"message {m} is not well formed"
    return None


def promise_monotonicity(cfg: Config, s: State) -> str | None:
    """No 1b, 2b or vote above the sender's promise; each 1b reports votes below the ballot it joins."""
    for a in cfg.acceptors:
        if any(vbal > s.max_bal[a] for vbal in s.max_vbal[a]):
            return f"acceptor {a} holds a vote above its promise {s.max_bal[a]}"
    for m in s.msgs:
        if m.type in ("1b", "2b") and m.bal > s.max_bal[m.acc]:  # type: ignore[union-attr]
            return f"{m} was sent above the sender's promise {s.max_bal[m.acc]}"  # type: ignore[union-attr]
        if m.type == "1b" and any(vbal >= m.bal for vbal, _ in m.votes):  # type: ignore[union-attr]
            return f"{m} reports a vote at or above the ballot it promises"
    return None


def one_value_per_ballot(cfg: Config, s: State) -> str | None:
    """At most one value is proposed, and so voted for, per (ballot, slot)."""
    proposed: dict[tuple[int, int], str] = {}
    for m in s.msgs:
        if m.type in ("2a", "2b"):
            v = proposed.setdefault((m.bal, m.slot), m.val)  # type: ignore[union-attr]
            if v != m.val:  # type: ignore[union-attr]
                return f"slot {m.slot}, ballot {m.bal} carries both {v!r} and {m.val!r}"  # type: ignore[union-attr]
    return None


def votes_safe(cfg: Config, s: State) -> str | None:
    """SafeAt, slot by slot."""
    for slot in range(cfg.slots):
        reason = voting.unsafe_vote(votes(s, slot), s.max_bal, cfg.values, cfg.decision_table)
        if reason is not None:
            return f"slot {slot}: {reason}"
    return None


def agreement(cfg: Config, s: State) -> str | None:
    """At most one value is chosen in each slot."""
    return one_per_slot(chosen(cfg, s))


def one_per_slot(log: dict[int, set[str]]) -> str | None:
    for slot, vals in log.items():
        if len(vals) > 1:
            return f"slot {slot} has two chosen values: {sorted(vals)}"
    return None


def validity(cfg: Config, s: State) -> str | None:
    """Every chosen value was proposed in that slot by some leader."""
    return all_proposed(s.msgs, chosen(cfg, s))


def all_proposed(msgs: Iterable[Any], log: dict[int, set[str]]) -> str | None:
    for slot, vals in log.items():
        proposed = {m.val for m in msgs if m.type == "2a" and m.slot == slot}
        if vals - proposed:
            return f"slot {slot}: chosen but never proposed: {sorted(vals - proposed)}"
    return None


def stability(cfg: Config, s: State, t: State) -> str | None:
    """Once chosen in a slot, always chosen there."""
    if s.msgs <= t.msgs:
        return None  # chosen depends only on the 2b messages, monotonically: no message lost, nothing unchosen
    return none_lost(chosen(cfg, s), chosen(cfg, t))


def none_lost(before: dict[int, set[str]], after: dict[int, set[str]]) -> str | None:
    for slot, vals in before.items():
        if lost := vals - after.get(slot, set()):
            return f"slot {slot}: {sorted(lost)} stopped being chosen"
    return None


# ---------------------------------------------------------------- the model


class MultiPaxosModel(ModelBase[State, Config]):
    """Multi-Paxos with fixed constants, as the explorer, replay and the refinement oracle see it."""

    variant = "multipaxos"
    actions = {"Phase1a": phase1a, "Phase1b": phase1b, "Phase2a": phase2a, "Phase2b": phase2b}
    state_checks = (type_ok, promise_monotonicity, one_value_per_ballot, votes_safe, agreement, validity)
    step_checks = {"promise_monotonicity": promises_only_grow, "stability": stability}

    def init(self) -> list[State]:
        return [init(self.cfg)]

    def next(self, s: State) -> Iterator[tuple[Action, State]]:
        """Every enabled action that changes the state, and its successor (see `leader_steps` and
        `acceptor_steps` for the guards that skip the rest)."""
        cfg = self.cfg

        def proposals(b: int, slot: int) -> Iterator[M2a]:
            return (M2a(b, slot, v) for v in sorted(proposable(cfg, s, b, slot)))

        yield from leader_steps(cfg, s, proposals)
        yield from acceptor_steps(cfg, s, phase1b, phase2b)

    def render(self, s: State) -> dict[str, Any]:
        return render_log(self.cfg.quorums.nodes, s, chosen(self.cfg, s))

    def constants(self) -> dict[str, Any]:
        return log_constants(self.cfg)


def log_constants(cfg: Config) -> dict[str, Any]:
    return {"values": list(cfg.values), "max_ballot": cfg.max_ballot, "slots": cfg.slots}


def leader_steps(cfg: Config, s: S, proposals: Callable[[int, int], Iterable[Any]]) -> Iterator[tuple[Action, S]]:
    """Every leader's Phase1a and Phase2a steps at s that change it: a prepare not sent yet, and in each
    (ballot, slot) not proposed in yet each 2a `proposals(b, slot)` gives (a variant's proposable values)."""
    prepared = {m.bal for m in s.msgs if m.type == "1a"}
    proposed = {(m.bal, m.slot) for m in s.msgs if m.type == "2a"}
    for b in cfg.ballots:
        if b not in prepared:
            yield Action("Phase1a", (("b", b),)), s._replace(msgs=s.msgs | {M1a(b)})
        for slot in range(cfg.slots):
            if (b, slot) not in proposed:
                for m in proposals(b, slot):
                    yield Action("Phase2a", (("b", b), ("slot", slot), ("v", m.val))), s._replace(msgs=s.msgs | {m})


def acceptor_steps(
    cfg: C,
    s: S,
    phase1b: Callable[[C, S, int, int], S | None],
    phase2b: Callable[[C, S, int, int, int, str], S | None],
) -> Iterator[tuple[Action, S]]:
    """Every acceptor's Phase1b and Phase2b steps at s that change it, answering the 1a and 2a messages
    (a variant's `phase1b` and `phase2b`). Cheap guards skip the calls that would fail or change nothing
    (a promise not above the acceptor's, a vote below it, or the vote it already cast: its 2b is sent);
    each successor is still computed by the action itself."""
    names = cfg.quorums.nodes
    for m in s.msgs:
        if m.type == "1a":
            for a in cfg.acceptors:
                if m.bal > s.max_bal[a] and (t := phase1b(cfg, s, a, m.bal)) is not None:
                    yield Action("Phase1b", (("a", names[a]), ("b", m.bal))), t
        elif m.type == "2a":
            b, slot, v = m.bal, m.slot, m.val
            for a in cfg.acceptors:
                fresh = b >= s.max_bal[a] and (s.max_vbal[a][slot], s.max_val[a][slot]) != (b, v)
                if fresh and (u := phase2b(cfg, s, a, b, slot, v)) is not None:
                    yield Action("Phase2b", (("a", names[a]), ("b", b), ("slot", slot), ("v", v))), u


def render_log(names: tuple[str, ...], s: Any, log: dict[int, set[str]]) -> dict[str, Any]:
    """A log state as JSON: the acceptors' promises and votes by name, the messages, and the chosen log."""
    return {
        "maxBal": dict(zip(names, s.max_bal, strict=True)),
        "maxVBal": {n: list(v) for n, v in zip(names, s.max_vbal, strict=True)},
        "maxVal": {n: list(v) for n, v in zip(names, s.max_val, strict=True)},
        "msgs": sorted((render_message(m, names) for m in s.msgs), key=lambda d: (d["type"], str(d))),
        "chosen": {str(slot): sorted(v) for slot, v in log.items()},
    }
