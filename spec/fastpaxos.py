"""Fast Paxos (Lamport 2006): at a fast ballot, acceptors vote for values straight from clients.

The leader of a fast ballot that is free to choose sends "any" instead of a value; each acceptor then votes
for whichever client value reaches it first (`Phase2bAny`), saving a message delay. Different acceptors may
vote for different values at one fast ballot (a collision), so a value is chosen there only by a *fast*
quorum, and a later leader must recover: among the votes at the highest reported ballot k, if k was fast,
the value w such that for some fast quorum R every acceptor of Q ∩ R reported (k, w) is the only one that
may have been chosen, and must be proposed; if there is none, the leader is free. A single value voted
at k must be proposed whatever k's kind (the leader of a fast ballot may have sent a plain 2a).

That rule is safe only when any phase-1 quorum and any two fast quorums share an acceptor
(`quorums.phase1_meets_two_fast`). Everything else — state, Phase1a/1b, invariants — is single-decree
Paxos (`spec/paxos.py`): acceptors here additionally vote at most once per ballot.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from paxiom.spec import voting
from paxiom.spec.acceptor import accept
from paxiom.spec.model import Action
from paxiom.spec.paxos import Config as PaxosConfig
from paxiom.spec.paxos import (
    M2a,
    M2b,
    MAny,
    PaxosModel,
    State,
    phase1a,
    phase1b,
    reports,
    with_acceptor,
)


@dataclass(frozen=True)
class Config(PaxosConfig):
    """Paxos constants plus the fast ballots; `quorums.fast` must be set."""

    fast_ballots: frozenset[int] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.quorums.fast is None:
            raise ValueError("Fast Paxos needs fast quorums")
        if not all(b in self.ballots for b in self.fast_ballots):  # range membership: max_ballot may be huge
            raise ValueError(f"fast ballots {sorted(self.fast_ballots)} are not all in 0..{self.max_ballot}")

    def is_fast(self, b: int) -> bool:
        return b in self.fast_ballots

    def decision_table(self, b: int) -> tuple[bool, ...]:
        assert self.quorums.fast is not None
        return self.quorums.fast.table if b in self.fast_ballots else self.quorums.phase2.table


def _started(s: State, b: int) -> bool:
    """Whether the leader of b already sent its phase-2 message (a value or "any"): one per ballot."""
    return any(m.type in ("2a", "any") and m.bal == b for m in s.msgs)


def recoverable(cfg: Config, reports_of_q: dict[int, tuple[int, str | None]]) -> set[str] | None:
    """What the highest-vote rule lets the leader propose after hearing phase-1 quorum q: a set of values,
    or None when it is free to propose anything (and, at a fast ballot, to send "any").

    Let k be the highest ballot q reports a vote at and V the values voted there. One value in V: it may
    have been chosen at k or below (every vote is safe), so it must be proposed — whether k was classic or
    fast. Several values (a collision, possible only at a fast ballot): at most the one that every acceptor
    of Q ∩ R voted, for some fast quorum R, can have been chosen, and it must be proposed; if none passes
    that test, nothing was chosen at k or below and the leader is free (Lamport, "Fast Paxos", 2006).
    """
    top, vals = voting.highest_vote(list(reports_of_q.values()))
    if top < 0:
        return None
    if len(vals) == 1:
        return vals
    assert cfg.quorums.fast is not None
    maybe_chosen = {
        w
        for w in vals
        for r in cfg.quorums.fast.minimal_quorums
        if all(reports_of_q[a] == (top, w) for a in reports_of_q if r >> a & 1)
    }
    return maybe_chosen or None


def _rules(cfg: Config, s: State, b: int) -> Iterator[set[str] | None]:
    """The rule's verdict for every phase-1 quorum that has promised b."""
    for quorum_reports in voting.promised_quorums(cfg.quorums.phase1.quorums, reports(s, b)):
        yield recoverable(cfg, quorum_reports)


def proposable(cfg: Config, s: State, b: int) -> set[str]:
    """Values the leader of b may send in a 2a, over every phase-1 quorum that promised b."""
    allowed: set[str] = set()
    for rule in _rules(cfg, s, b):
        allowed |= set(cfg.values) if rule is None else rule
    return allowed


def phase2a(cfg: Config, s: State, b: int, v: str) -> State | None:
    """The leader of b proposes v (at a classic or a fast ballot), as the recovery rule allows."""
    if _started(s, b) or v not in proposable(cfg, s, b):
        return None
    return s._replace(msgs=s.msgs | {M2a(b, v)})


def phase2a_any(cfg: Config, s: State, b: int) -> State | None:
    """The leader of fast ballot b, free to choose, lets acceptors take client values directly."""
    if not cfg.is_fast(b) or _started(s, b) or not any(rule is None for rule in _rules(cfg, s, b)):
        return None
    return s._replace(msgs=s.msgs | {MAny(b)})


def _vote(cfg: Config, s: State, a: int, b: int, v: str) -> State | None:
    if s.max_vbal[a] >= b:  # one vote per acceptor per ballot
        return None
    voted = accept(s.acceptor(a), b, v)
    return None if voted is None else with_acceptor(s, a, voted, M2b(a, b, v))


def phase2b(cfg: Config, s: State, a: int, b: int, v: str) -> State | None:
    """Acceptor a votes for the leader's proposal (b, v)."""
    return _vote(cfg, s, a, b, v) if M2a(b, v) in s.msgs else None


def phase2b_any(cfg: Config, s: State, a: int, b: int, v: str) -> State | None:
    """Acceptor a votes, at a fast ballot opened with "any", for the client value v."""
    return _vote(cfg, s, a, b, v) if MAny(b) in s.msgs and v in cfg.values else None


class FastPaxosModel(PaxosModel):
    """Fast Paxos with fixed constants; phase 1, invariants and rendering are single-decree Paxos's."""

    variant = "fastpaxos"
    actions = {
        "Phase1a": phase1a,
        "Phase1b": phase1b,
        "Phase2a": phase2a,
        "Phase2aAny": phase2a_any,
        "Phase2b": phase2b,
        "Phase2bAny": phase2b_any,
    }

    def __init__(self, cfg: Config) -> None:
        super().__init__(cfg)
        self.fast_cfg = cfg

    def phase2_steps(self, s: State) -> Iterator[tuple[Action, State]]:
        cfg, names = self.fast_cfg, self.cfg.quorums.nodes
        for b in cfg.ballots:
            if not _started(s, b):
                for v in sorted(proposable(cfg, s, b)):
                    yield Action("Phase2a", (("b", b), ("v", v))), s._replace(msgs=s.msgs | {M2a(b, v)})
                if (t := phase2a_any(cfg, s, b)) is not None:
                    yield Action("Phase2aAny", (("b", b),)), t
        for m in s.msgs:
            if m.type not in ("2a", "any"):
                continue
            for a in cfg.acceptors:
                if m.bal < s.max_bal[a] or s.max_vbal[a] >= m.bal:
                    continue  # promised higher, or voted at this ballot already
                if m.type == "2a" and (t := phase2b(cfg, s, a, m.bal, m.val)) is not None:  # type: ignore[union-attr]
                    yield Action("Phase2b", (("a", names[a]), ("b", m.bal), ("v", m.val))), t  # type: ignore[union-attr]
                for v in cfg.values if m.type == "any" else ():
                    if (t := phase2b_any(cfg, s, a, m.bal, v)) is not None:
                        yield Action("Phase2bAny", (("a", names[a]), ("b", m.bal), ("v", v))), t

    def constants(self) -> dict[str, Any]:
        return {**super().constants(), "fast_ballots": sorted(self.fast_cfg.fast_ballots)}
