"""The refinement oracle of a reconfiguring run: `spec/reconfig.py` over the per-slot projection.

`spec/reconfig.py` is Multi-Paxos in which each slot is decided by the configuration governing it: the one
in force after slots 0..s − α, known once they are all chosen (`governing`). Its 2a names that
configuration, only that configuration's members vote (`Config.may_vote`), `proposable` reads a promised
phase-1 quorum of it and `chosen` a phase-2 quorum of it. Projected on one slot that is the Multi-Paxos
spec over the slot's configuration's quorums, so this oracle is `RefinementOracle` with three things
added, all read from the spec:

* the chosen log in the spec's values (a valid configuration command is the spec's `cfgK`, numbered in the
  order the oracle first sees each configuration), kept as slots become chosen;
* at a slot's first 2a, `governing` over that log must know the slot's configuration (else the Phase2a is
  not enabled: the proposer did not wait for slot − α), and the slot's projection is judged with that
  configuration's quorums from then on (`votes_governed` holds by construction);
* a 2b must be a member's (`may_vote`), and a restored snapshot may carry only chosen switches.
"""

from __future__ import annotations

from typing import Any

from paxiom.impl.messages import Accept, Envelope, Snapshot
from paxiom.impl.oracle import MAX_BALLOT, OTHER_VALUE, RefinementOracle
from paxiom.impl.reconfig import encode_config, over, switch_of, valid_switch
from paxiom.impl.values import Value, render_value
from paxiom.spec import cheap
from paxiom.spec import reconfig as rc
from paxiom.spec.model import act
from paxiom.spec.quorums import QuorumSystem


class ReconfigOracle(RefinementOracle):
    spec_name = "reconfig"

    def __init__(self, quorums: QuorumSystem, alpha: int, invariants: bool = True, **options: Any) -> None:
        """`quorums` is the initial configuration, over every node the run has; `alpha` the window; `options`
        as `RefinementOracle`'s."""
        super().__init__(quorums, invariants, **options)
        self.systems: dict[bytes, int] = {}
        """Each further configuration (by its encoding) and its number in the spec (1, 2, ...)."""
        self.switches: dict[str, str] = {}
        """A configuration command's rendering and the spec's name for it (`cfgK`)."""
        self.spec = rc.Config(quorums, (OTHER_VALUE,), MAX_BALLOT, slots=1, alpha=alpha)
        self.log: dict[int, set[str]] = {}
        """The chosen log in the spec's values: what `governing` reads."""
        self.conf: dict[int, int] = {}
        """The configuration each proposed slot's 2a messages name."""

    def _register(self, value: Value) -> None:
        """A proposed configuration command becomes one of the spec's configurations (`cfgK`)."""
        qs = switch_of(value)
        shown = render_value(value)
        if qs is None or shown in self.switches or self.quorums.nodes[: qs.n] != qs.nodes:
            return
        if not valid_switch(self.quorums, qs):
            return  # the core takes it as an ordinary command, and so does the spec
        k = self._number(over(qs, self.quorums.nodes))  # the spec's configurations range over every node
        if k is not None:
            self.switches[shown] = rc.switch(k)

    def _number(self, qs: QuorumSystem) -> int | None:
        """The spec's number for configuration `qs`: reconfig's configurations are the run's, so a new one
        becomes the next."""
        key = encode_config(qs)
        if key not in self.systems:
            self.systems[key] = len(self.systems) + 1
            self.spec = rc.Config(
                self.quorums, (OTHER_VALUE,), MAX_BALLOT, slots=1, alpha=self.spec.alpha, new=(*self.spec.new, qs)
            )
        return self.systems[key]

    def _match(self, envelope: Envelope) -> None:
        if isinstance(envelope.msg, Accept):
            self._register(envelope.msg.value)
        super()._match(envelope)

    def _phase2a(self, b: int, slot: int, v: str) -> None:
        if slot not in self.conf:
            governs = rc.governing(self.spec, self.log, slot)
            if governs is None:
                last = rc.decided_by(self.spec.alpha, slot)
                missing = next(j for j in range(last + 1) if j not in self.log)
                raise self._object(
                    str(act("Phase2a", b=b, slot=slot, v=v)),
                    f"not enabled: slot {slot}'s configuration is not known yet: it is decided by slots 0..{last} "
                    f"(α = {self.spec.alpha}), and slot {missing} is not chosen (spec/reconfig.py governing)",
                )
            view = self._view(slot, v)
            view.model = self._model(view.cfg.values, self.spec.configs[governs])
            self.conf[slot] = governs
        super()._phase2a(b, slot, v)

    def _phase2b(self, a: int, b: int, slot: int, v: str) -> None:
        conf = self.conf.get(slot)
        if conf is not None and not self.spec.may_vote(a, conf, self.switches.get(v, v)):
            raise self._object(
                str(act("Phase2b", a=self.names[a], b=b, slot=slot, v=v)),
                f"not enabled: slot {slot} is governed by configuration {conf}, and {self._not_voter(a, conf)}",
            )
        super()._phase2b(a, b, slot, v)
        if slot not in self.log:
            chosen = self._chosen(slot)
            if chosen:
                self.log[slot] = {self.switches.get(c, c) for c in chosen}

    def _not_voter(self, a: int, conf: int) -> str:
        """Why acceptor `a` may not vote there."""
        return f"{self.names[a]} is not one of its members (spec/reconfig.py phase2b, may_vote)"

    def _check_restored(self, r: int, snapshot: Snapshot) -> None:
        for entry in snapshot.switches:
            shown = render_value(entry.value)
            if shown not in self._chosen(entry.slot):
                raise self._object(
                    "snapshot-matches-log",
                    f"{self.names[r]} restored a snapshot carrying {shown} as slot {entry.slot}'s switch, "
                    "which is not chosen there",
                )
        super()._check_restored(r, snapshot)


class CheapOracle(ReconfigOracle):
    """`spec/cheap.py`'s oracle: the configurations are cheap's (configuration 0 over every acceptor, `cfgk`
    retiring main k), and a vote must be one cheap's `may_vote` allows: an auxiliary votes only for a
    retirement (`aux_votes_retire`)."""

    spec_name = "cheap"

    def __init__(self, quorums: QuorumSystem, alpha: int, mains: int, invariants: bool = True, **options: Any) -> None:
        super().__init__(quorums, alpha, invariants, **options)
        self.spec = cheap.Config(quorums, (OTHER_VALUE,), MAX_BALLOT, slots=1, alpha=alpha, mains=mains)
        self.systems = {encode_config(qs): k for k, qs in enumerate(self.spec.configs) if k}

    def _number(self, qs: QuorumSystem) -> int | None:
        """Cheap's own configuration with these quorums (another is no configuration cheap has)."""
        return self.systems.get(encode_config(qs))

    def _not_voter(self, a: int, conf: int) -> str:
        if a in self.spec.members[conf]:
            return (
                f"{self.names[a]} is one of its auxiliaries, which vote only for a retirement (spec/cheap.py "
                "may_vote, aux_votes_retire)"
            )
        return super()._not_voter(a, conf)
