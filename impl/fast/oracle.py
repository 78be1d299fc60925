"""The refinement oracle of the Fast Paxos core: every slot's projection is a step of `spec/fastpaxos.py`.

It is the Multi-Paxos oracle (`impl.oracle.RefinementOracle`: records, disks, crashes, intents, what
clients see) with its slot rules routed to the Fast Paxos spec. Each slot's projection keeps the
single-slot state shape of `spec/multipaxos.py` the record machinery reads; every action and invariant
converts it to the single-decree state of `spec/fastpaxos.py` (`to_fast`), runs that spec's own function
and converts the result back, so no guard is restated here:

* `Accept` is `Phase2a` under the Fast Paxos recovery rule (`fastpaxos.phase2a`, which calls
  `fastpaxos.recoverable`), `AnyFrom(b, s)` is `Phase2aAny(b)` in every slot from s on (in the slots the
  oracle already tracks at once, in each later slot when it is first touched), and `Accepted` is
  `Phase2b` after a 2a or `Phase2bAny` after an any (one vote per acceptor per ballot).
* The decision table is the fast quorums at fast ballots: the implementation's even rounds
  (`impl.fast.replica.is_fast`), which `FastRounds` presents as the spec's `fast_ballots`.
* The invariants are `spec/fastpaxos.py`'s (those of single-decree Paxos, with fast quorums and the
  value domain opened by "any").
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, partial
from typing import Any, cast

from paxiom.impl.ballot import Ballot
from paxiom.impl.fast.replica import is_fast
from paxiom.impl.messages import AnyFrom, Envelope
from paxiom.impl.oracle import MAX_BALLOT, RefinementOracle, SlotRules, SlotView
from paxiom.spec import fastpaxos as fp
from paxiom.spec import multipaxos as mp
from paxiom.spec import paxos
from paxiom.spec.model import act
from paxiom.spec.quorums import QuorumSystem


class FastRounds(frozenset[int]):
    """The spec ballots of the implementation's fast ballots (even rounds), a set given by membership only:
    ballot `round * n + replica` is fast when its round is even."""

    n: int

    def __new__(cls, n: int) -> FastRounds:
        rounds = super().__new__(cls)
        rounds.n = n
        return rounds

    def __contains__(self, b: object) -> bool:
        return isinstance(b, int) and b >= 0 and is_fast(Ballot(b // self.n, b % self.n))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FastRounds) and other.n == self.n

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(("fast rounds", self.n))


# ---------------------------------------------------------------------- one slot, two state shapes


@lru_cache(maxsize=1 << 16)
def _fast_message(m: Any) -> paxos.Message:
    if m.type == "1b":
        return paxos.M1b(m.acc, m.bal, *m.votes[0])
    if m.type == "2a":
        return paxos.M2a(m.bal, m.val)
    if m.type == "2b":
        return paxos.M2b(m.acc, m.bal, m.val)
    return m  # type: ignore[no-any-return]  # M1a and MAny are the same in both


@lru_cache(maxsize=1 << 16)
def _slot_message(m: paxos.Message) -> Any:
    if m.type == "1b":
        return mp.M1b(m.acc, m.bal, ((m.mbal, m.mval),))  # type: ignore[union-attr]
    if m.type == "2a":
        return mp.M2a(m.bal, 0, m.val)  # type: ignore[union-attr]
    if m.type == "2b":
        return mp.M2b(m.acc, m.bal, 0, m.val)  # type: ignore[union-attr]
    return m


@lru_cache(maxsize=1024)
def to_fast(s: mp.State) -> paxos.State:
    """A single-slot Multi-Paxos state as the single-decree state of `spec/fastpaxos.py`."""
    return paxos.State(
        s.max_bal,
        tuple(v[0] for v in s.max_vbal),
        tuple(v[0] for v in s.max_val),
        frozenset(map(_fast_message, s.msgs)),
    )


def to_slot(t: paxos.State | None) -> mp.State | None:
    """The inverse of `to_fast` (None stays None: a disabled action)."""
    if t is None:
        return None
    msgs = frozenset(map(_slot_message, t.msgs))
    return mp.State(t.max_bal, tuple((v,) for v in t.max_vbal), tuple((v,) for v in t.max_val), msgs)


@lru_cache(maxsize=64)
def fast_config(cfg: mp.Config) -> fp.Config:
    """The Fast Paxos constants of a slot projection: its quorums (with the fast ones), values and ballots."""
    return fp.Config(cfg.quorums, cfg.values, cfg.max_ballot, fast_ballots=FastRounds(cfg.quorums.n))


def _phase1a(cfg: mp.Config, s: mp.State, b: int) -> mp.State | None:
    """Fast Paxos's phase 1 is single-decree Paxos's (`fastpaxos.FastPaxosModel.actions`)."""
    return to_slot(paxos.phase1a(fast_config(cfg), to_fast(s), b))


def _phase1b(cfg: mp.Config, s: mp.State, a: int, b: int) -> mp.State | None:
    return to_slot(paxos.phase1b(fast_config(cfg), to_fast(s), a, b))


def _phase2a(cfg: mp.Config, s: mp.State, b: int, slot: int, v: str) -> mp.State | None:
    return to_slot(fp.phase2a(fast_config(cfg), to_fast(s), b, v))


def _phase2b(cfg: mp.Config, s: mp.State, a: int, b: int, slot: int, v: str) -> mp.State | None:
    """Phase2b after a 2a, else Phase2bAny after an any."""
    f, t = fast_config(cfg), to_fast(s)
    return to_slot(fp.phase2b(f, t, a, b, v) or fp.phase2b_any(f, t, a, b, v))


def _phase2a_any(cfg: mp.Config, s: mp.State, b: int) -> mp.State | None:
    return to_slot(fp.phase2a_any(fast_config(cfg), to_fast(s), b))


def _proposable(cfg: mp.Config, s: mp.State, b: int, slot: int) -> set[str]:
    return fp.proposable(fast_config(cfg), to_fast(s), b)


def _chosen(cfg: mp.Config, s: mp.State) -> dict[int, set[str]]:
    chosen = paxos.chosen(fast_config(cfg), to_fast(s))
    return {0: chosen} if chosen else {}


def any_message(b: int) -> mp.Message:
    """Fast Paxos's "any" of ballot b, as a slot projection carries it (multipaxos's functions ignore it)."""
    return cast(mp.Message, paxos.MAny(b))


FAST_PAXOS = SlotRules(_phase1a, _phase1b, _phase2a, _phase2b, _proposable, _chosen)


def _lift_state(check: Callable[[Any, Any], str | None]) -> Callable[[mp.Config, mp.State], str | None]:
    def lifted(cfg: mp.Config, s: mp.State) -> str | None:
        return check(fast_config(cfg), to_fast(s))

    lifted.__name__ = check.__name__
    return lifted


def _lift_step(check: Callable[[Any, Any, Any], str | None]) -> Callable[[mp.Config, mp.State, mp.State], str | None]:
    def lifted(cfg: mp.Config, s: mp.State, t: mp.State) -> str | None:
        return check(fast_config(cfg), to_fast(s), to_fast(t))

    return lifted


_STEP_CHECKS = {name: _lift_step(check) for name, check in fp.FastPaxosModel.step_checks.items()}


class FastSlotModel(mp.MultiPaxosModel):
    """One slot's projection judged by `spec/fastpaxos.py`'s invariants and step invariants."""

    variant = "fastpaxos"
    state_checks = tuple(map(_lift_state, fp.FastPaxosModel.state_checks))  # type: ignore[assignment]
    step_checks = _STEP_CHECKS


class FastRefinementOracle(RefinementOracle):
    """`RefinementOracle` over `spec/fastpaxos.py`; `quorums` must carry the fast quorums."""

    rules = FAST_PAXOS
    spec_name = "fastpaxos"

    def __init__(self, quorums: QuorumSystem, *args: Any, **kwargs: Any) -> None:
        if quorums.fast is None:
            raise ValueError("the Fast Paxos oracle needs the fast quorums")
        self.anys: list[tuple[int, int]] = []
        """Every (ballot, first slot) an AnyFrom opened, in order."""
        self.any_seen: dict[int, int] = {}
        """Per tracked slot, how many of `anys` its projection has absorbed."""
        super().__init__(quorums, *args, **kwargs)

    def _model(self, values: tuple[str, ...], quorums: QuorumSystem | None = None) -> mp.MultiPaxosModel:
        return FastSlotModel(mp.Config(quorums or self.quorums, values, MAX_BALLOT, slots=1))

    def _match(self, envelope: Envelope) -> None:
        msg = envelope.msg
        if isinstance(msg, AnyFrom):
            self._phase2a_any(self.ballot(msg.ballot), msg.first_slot)
        else:
            super()._match(envelope)

    def _phase2a_any(self, b: int, first: int) -> None:
        """Phase2aAny(b) in every slot from `first` on: now in the slots tracked, later in the others."""
        if (b, first) in self.anys:
            return  # a resend
        self.anys.append((b, first))
        self._matched.append(act("Phase2aAny", b=b, from_slot=first))
        self.actions_matched += 1
        for slot in [s for s in self.slot_order if s >= first]:
            self._view(slot)

    def _view(self, slot: int, value: str | None = None) -> SlotView:
        view = super()._view(slot, value)
        for b, first in self.anys[self.any_seen.get(slot, 0) :]:
            opened = slot < first or any_message(b) in view.phase2
            if not opened and not self._take(slot, view, b, partial(_phase2a_any, b=b)):
                raise self._object(
                    str(act("Phase2aAny", b=b)),
                    f"not enabled in slot {slot}: {self._why_not_any(view, b)}",
                )
        self.any_seen[slot] = len(self.anys)
        return view

    @staticmethod
    def _started(view: SlotView, b: int) -> str | None:
        sent = sorted(str(m) for m in view.phase2 if m.type in ("2a", "any") and m.bal == b)
        return f"ballot {b} already sent {sent[0]} here (one phase-2 message per ballot and slot)" if sent else None

    def _why_not_any(self, view: SlotView, b: int) -> str:
        if started := self._started(view, b):
            return started
        if b not in fast_config(view.cfg).fast_ballots:
            return f"ballot {b} is classic"
        return "no promised phase-1 quorum leaves the leader free to choose here (the recovery rule binds it)"

    def _why_not_2a(self, view: SlotView, b: int, v: str) -> str:
        if started := self._started(view, b):
            return started
        allowed = self.rules.proposable(view.cfg, view.frame(b), b, 0)
        if allowed:
            return (
                f"{v!r} is not what the recovery rule (fastpaxos.recoverable) allows for any promised phase-1 "
                f"quorum; allowed: {sorted(allowed)}"
            )
        return super()._why_not_2a(view, b, v)  # no phase-1 quorum promised b

    def _phase2b(self, a: int, b: int, slot: int, v: str) -> None:
        view = self._view(slot, v)
        vote = mp.M2b(a, b, 0, v)
        if vote not in view.phase2 and any_message(b) in view.phase2:
            voted = view.state.max_vbal[a][0]
            if voted >= b:
                name = self.names[a]
                raise self._object(
                    str(act("Phase2bAny", a=name, b=b, slot=slot, v=v)),
                    f"not enabled: {name} already voted at fast ballot {b} in slot {slot} "
                    f"({view.state.max_val[a][0]!r}): one vote per acceptor per ballot",
                )
        super()._phase2b(a, b, slot, v)
