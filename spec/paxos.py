"""Single-decree Paxos, Flexible by construction.

State and actions follow Lamport's TLA+ spec from the lecture "Paxos: how to win a Turing award"
(message-set style): each acceptor keeps `maxBal` (its promise), `maxVBal`/`maxVal` (its latest vote), and
`msgs` is the set of every message ever sent — a message is never removed, so loss, duplication and
reordering are all modelled by actions simply not (or repeatedly) reading it.

One generalisation: Phase2a waits for a *phase-1* quorum and `chosen` counts a *phase-2* quorum, taken from
two families (Howard, Malkhi, Spiegelman, "Flexible Paxos", 2016). With both families the majorities this is
exactly Lamport's spec, with the same reachable states for the same constants (`tla/Paxos.tla` is its
twin and TLC holds them equal).

Acceptors are numbered 0..n-1; `Config.quorums.nodes` gives their names.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from paxiom.spec import voting
from paxiom.spec.acceptor import Acceptor, accept, promise, promises_only_grow
from paxiom.spec.model import Action, ModelBase
from paxiom.spec.quorums import QuorumSystem


class M1a(NamedTuple):
    """Prepare: a leader asks acceptors to join ballot `bal`."""

    bal: int
    type: str = "1a"


class M1b(NamedTuple):
    """Promise: `acc` joins `bal` and reports its latest vote (`mbal` = -1 if it never voted)."""

    acc: int
    bal: int
    mbal: int
    mval: str | None
    type: str = "1b"


class M2a(NamedTuple):
    """Accept request: the leader of `bal` asks acceptors to vote for `val`."""

    bal: int
    val: str
    type: str = "2a"


class MAny(NamedTuple):
    """Fast Paxos only: the leader of fast ballot `bal` lets acceptors vote for any client's value."""

    bal: int
    type: str = "any"


class M2b(NamedTuple):
    """Accepted: `acc` voted for `val` at `bal`."""

    acc: int
    bal: int
    val: str
    type: str = "2b"


Message = M1a | M1b | M2a | MAny | M2b


class State(NamedTuple):
    max_bal: tuple[int, ...]
    max_vbal: tuple[int, ...]
    max_val: tuple[str | None, ...]
    msgs: frozenset[Message]

    def acceptor(self, a: int) -> Acceptor:
        return Acceptor(self.max_bal[a], self.max_vbal[a], self.max_val[a])


@dataclass(frozen=True)
class Config:
    """The spec's constants: acceptors and their quorums, the proposable values, ballots 0..max_ballot."""

    quorums: QuorumSystem
    values: tuple[str, ...]
    max_ballot: int
    ballots: range = field(init=False, repr=False)
    acceptors: range = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError("there must be at least one value to propose")
        if self.max_ballot < 0:
            raise ValueError("max_ballot must be at least 0")
        object.__setattr__(self, "ballots", range(self.max_ballot + 1))
        object.__setattr__(self, "acceptors", range(self.quorums.n))

    def is_fast(self, b: int) -> bool:
        """Whether acceptors may vote for client values directly at ballot b (only in Fast Paxos)."""
        return False

    def decision_table(self, b: int) -> tuple[bool, ...]:
        """The quorums that choose a value at ballot b: here always the phase-2 quorums."""
        return self.quorums.phase2.table


def init(cfg: Config) -> State:
    n = cfg.quorums.n
    return State((-1,) * n, (-1,) * n, (None,) * n, frozenset())


def replaced(t: tuple[Any, ...], i: int, v: Any) -> tuple[Any, ...]:
    """`t` with its i-th element replaced by `v`."""
    return (*t[:i], v, *t[i + 1 :])


def with_acceptor(s: State, a: int, acc: Acceptor, sent: Message) -> State:
    return State(
        replaced(s.max_bal, a, acc.max_bal),
        replaced(s.max_vbal, a, acc.max_vbal),
        replaced(s.max_val, a, acc.max_val),
        s.msgs | {sent},
    )


# ---------------------------------------------------------------- actions


def phase1a(cfg: Config, s: State, b: int) -> State | None:
    """A leader starts ballot b by sending a prepare. Always enabled (sending twice changes nothing)."""
    return s._replace(msgs=s.msgs | {M1a(b)})


def phase1b(cfg: Config, s: State, a: int, b: int) -> State | None:
    """Acceptor a promises ballot b if it has seen the prepare and b is above its promise."""
    if M1a(b) not in s.msgs:
        return None
    joined = promise(s.acceptor(a), b)
    if joined is None:
        return None
    return with_acceptor(s, a, joined, M1b(a, b, joined.max_vbal, joined.max_val))


def reports(s: State, b: int) -> dict[int, tuple[int, str | None]]:
    """The phase-1 reports (mbal, mval) each acceptor sent for ballot b."""
    return {m.acc: (m.mbal, m.mval) for m in s.msgs if m.type == "1b" and m.bal == b}  # type: ignore[union-attr]


def proposable(cfg: Config, s: State, b: int) -> set[str]:
    """Values the leader of b may propose: over every phase-1 quorum that has promised b, the value of the
    highest vote it reports, or any value if it reports none."""
    allowed: set[str] = set()
    for quorum_reports in voting.promised_quorums(cfg.quorums.phase1.quorums, reports(s, b)):
        top, vals = voting.highest_vote(list(quorum_reports.values()))
        allowed |= vals if top >= 0 else set(cfg.values)
        if len(allowed) == len(cfg.values):
            break
    return allowed


def phase2a(cfg: Config, s: State, b: int, v: str) -> State | None:
    """The leader of b proposes v, once per ballot, as the highest-vote rule allows."""
    if any(m.type == "2a" and m.bal == b for m in s.msgs):
        return None
    if v not in proposable(cfg, s, b):
        return None
    return s._replace(msgs=s.msgs | {M2a(b, v)})


def phase2b(cfg: Config, s: State, a: int, b: int, v: str) -> State | None:
    """Acceptor a votes for the proposal (b, v) unless it has promised a higher ballot."""
    if M2a(b, v) not in s.msgs:
        return None
    voted = accept(s.acceptor(a), b, v)
    if voted is None:
        return None
    return with_acceptor(s, a, voted, M2b(a, b, v))


# ---------------------------------------------------------------- derived views


def votes(s: State) -> list[voting.Vote]:
    return votes_in(s.msgs)


def votes_in(msgs: frozenset[Message]) -> list[voting.Vote]:
    return [(m.acc, m.bal, m.val) for m in msgs if m.type == "2b"]  # type: ignore[union-attr]


def chosen(cfg: Config, s: State) -> set[str]:
    """Values some quorum (phase-2, or fast at a fast ballot) voted for at a single ballot."""
    return set(_chosen(cfg, s.msgs))


@lru_cache(maxsize=4096)
def _chosen(cfg: Config, msgs: frozenset[Message]) -> frozenset[str]:
    # several invariants ask this of the same state; frozensets cache their hash, so this is cheap
    return frozenset(voting.chosen(votes_in(msgs), cfg.decision_table))


# ---------------------------------------------------------------- invariants


def type_ok(cfg: Config, s: State) -> str | None:
    """Every variable holds a value of its type: ballots in -1..max_ballot, values from the configured set."""
    for a in cfg.acceptors:
        if not -1 <= s.max_vbal[a] <= cfg.max_ballot or not -1 <= s.max_bal[a] <= cfg.max_ballot:
            return f"acceptor {a} has a ballot outside -1..{cfg.max_ballot}"
        if (s.max_val[a] is None) != (s.max_vbal[a] == -1) or s.max_val[a] not in (None, *cfg.values):
            return f"acceptor {a} has vote ({s.max_vbal[a]}, {s.max_val[a]!r}), not a ballot with a value"
    for m in s.msgs:
        if m.bal not in cfg.ballots or getattr(m, "val", cfg.values[0]) not in cfg.values:
            return f"message {m} is not well formed"
    return None


def promise_monotonicity(cfg: Config, s: State) -> str | None:
    """Everything an acceptor has sent is consistent with its promise: no 1b or 2b above maxBal, no vote
    above the promise, and each 1b reports a vote below the ballot it joins."""
    for a in cfg.acceptors:
        if s.max_vbal[a] > s.max_bal[a]:
            return f"acceptor {a} voted at {s.max_vbal[a]} above its promise {s.max_bal[a]}"
    for m in s.msgs:
        if m.type in ("1b", "2b") and m.bal > s.max_bal[m.acc]:  # type: ignore[union-attr]
            return f"{m} was sent above the sender's promise {s.max_bal[m.acc]}"  # type: ignore[union-attr]
        if m.type == "1b" and not m.mbal < m.bal:  # type: ignore[union-attr]
            return f"{m} reports a vote at or above the ballot it promises"
        if m.type == "1b" and m.mbal > s.max_vbal[m.acc]:  # type: ignore[union-attr]
            return f"{m} reports a vote newer than the acceptor's latest vote"
    return None


def one_value_per_ballot(cfg: Config, s: State) -> str | None:
    """At most one value is proposed, and so voted for, at each ballot (votes at fast ballots excepted:
    there acceptors vote for whichever client value reached them first)."""
    proposed: dict[int, str] = {}
    for m in s.msgs:
        if m.type == "2a" or (m.type == "2b" and not cfg.is_fast(m.bal)):
            v = proposed.setdefault(m.bal, m.val)  # type: ignore[union-attr]
            if v != m.val:  # type: ignore[union-attr]
                return f"ballot {m.bal} carries both {v!r} and {m.val!r}"  # type: ignore[union-attr]
    return None


def votes_safe(cfg: Config, s: State) -> str | None:
    """SafeAt: no acceptor votes for v at b while another value is chosen or still choosable below b."""
    return voting.unsafe_vote(votes(s), s.max_bal, cfg.values, cfg.decision_table)


def agreement(cfg: Config, s: State) -> str | None:
    """Chosen-value uniqueness: at most one value is ever chosen."""
    c = chosen(cfg, s)
    return f"two values are chosen: {sorted(c)}" if len(c) > 1 else None


def validity(cfg: Config, s: State) -> str | None:
    """Only proposed values are chosen: each was in a leader's 2a, or is a client's value (every configured
    value) voted at a fast ballot the leader opened with "any"."""
    proposed = {m.val for m in s.msgs if m.type == "2a"}  # type: ignore[union-attr]
    if any(m.type == "any" for m in s.msgs):
        proposed |= set(cfg.values)
    unproposed = chosen(cfg, s) - proposed
    return f"chosen but never proposed: {sorted(unproposed)}" if unproposed else None


def stability(cfg: Config, s: State, t: State) -> str | None:
    """Once chosen, always chosen."""
    if s.msgs <= t.msgs:
        return None  # chosen depends only on the 2b messages, monotonically: no message lost, nothing unchosen
    lost = chosen(cfg, s) - chosen(cfg, t)
    return f"{sorted(lost)} stopped being chosen" if lost else None


# ---------------------------------------------------------------- the model the explorer runs


class PaxosModel(ModelBase[State, Config]):
    """Single-decree (Flexible) Paxos with fixed constants, as the explorer and replay see it."""

    variant = "paxos"
    actions = {"Phase1a": phase1a, "Phase1b": phase1b, "Phase2a": phase2a, "Phase2b": phase2b}
    state_checks = (type_ok, promise_monotonicity, one_value_per_ballot, votes_safe, agreement, validity)
    step_checks = {"promise_monotonicity": promises_only_grow, "stability": stability}

    def init(self) -> list[State]:
        return [init(self.cfg)]

    def next(self, s: State) -> Iterator[tuple[Action, State]]:
        """Every enabled action and its successor. Cheap guards are tested here first only to skip calls
        that would fail or change nothing; each successor is still computed by the action itself."""
        yield from self.phase1_steps(s)
        yield from self.phase2_steps(s)

    def phase1_steps(self, s: State) -> Iterator[tuple[Action, State]]:
        cfg, names = self.cfg, self.cfg.quorums.nodes
        prepared = {m.bal for m in s.msgs if m.type == "1a"}
        for b in cfg.ballots:
            if b not in prepared:
                yield Action("Phase1a", (("b", b),)), s._replace(msgs=s.msgs | {M1a(b)})
        for b in prepared:
            for a in cfg.acceptors:
                if b > s.max_bal[a] and (t := phase1b(cfg, s, a, b)) is not None:
                    yield Action("Phase1b", (("a", names[a]), ("b", b))), t

    def phase2_steps(self, s: State) -> Iterator[tuple[Action, State]]:
        cfg, names = self.cfg, self.cfg.quorums.nodes
        proposals = [(m.bal, m.val) for m in s.msgs if m.type == "2a"]  # type: ignore[union-attr]
        proposed = {b for b, _ in proposals}
        for b in cfg.ballots:
            if b not in proposed:
                for v in sorted(proposable(cfg, s, b)):
                    yield Action("Phase2a", (("b", b), ("v", v))), s._replace(msgs=s.msgs | {M2a(b, v)})
        for b, v in proposals:
            for a in cfg.acceptors:
                fresh = b >= s.max_bal[a] and (s.max_vbal[a], s.max_val[a]) != (b, v)
                if fresh and (t := phase2b(cfg, s, a, b, v)) is not None:
                    yield Action("Phase2b", (("a", names[a]), ("b", b), ("v", v))), t

    def render(self, s: State) -> dict[str, Any]:
        names = self.cfg.quorums.nodes
        return {
            "maxBal": dict(zip(names, s.max_bal, strict=True)),
            "maxVBal": dict(zip(names, s.max_vbal, strict=True)),
            "maxVal": dict(zip(names, s.max_val, strict=True)),
            "msgs": sorted((render_message(m, names) for m in s.msgs), key=lambda d: (d["type"], str(d))),
            "chosen": sorted(chosen(self.cfg, s)),
        }

    def constants(self) -> dict[str, Any]:
        return {"values": list(self.cfg.values), "max_ballot": self.cfg.max_ballot}


def render_message(m: tuple[Any, ...], names: tuple[str, ...]) -> dict[str, Any]:
    """A message as a dict, acceptor indices replaced by names."""
    doc = dict(zip(m._fields, m, strict=True))  # type: ignore[attr-defined]
    if "acc" in doc:
        doc["acc"] = names[doc["acc"]]
    return doc
