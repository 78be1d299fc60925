#!/usr/bin/env python3
"""A learner of single-decree, Multi-, Fast and Cheap Paxos and of reconfiguration, speaking
paxiom-conform/1 and /2 on stdin/stdout.

    paxiom conform --variant fastpaxos --role learner -- python3 examples/conformance/learner_v2.py
    paxiom conform --variant multipaxos --role learner -- python3 examples/conformance/learner_v2.py
    paxiom conform --variant reconfig --role learner -- python3 examples/conformance/learner_v2.py

It tallies `accepted` messages per (slot, ballot, value), each acceptor once, and decides when the voters
include
a quorum of the ballot's kind: a fast quorum (`quorums.fast` of init) at a ballot whose round is in
`fast_rounds`, a phase-2 quorum at any other. Fast ballots need the larger quorum because acceptors there
vote for whichever client value reached them first, so a classic quorum's worth of votes can sit beside
votes for another value. Under reconfiguration and Cheap Paxos a vote names its slot's configuration, and
the quorum is a phase-2 quorum of that configuration (init's `configs`). Nothing is persisted: a decision
is only ever re-derived from votes.

`--option mutant=NAME`:
- classic-quorum-at-fast-ballot (fastpaxos): it decides on a phase-2 quorum at every ballot, fast or not;
- count-across-slots (multipaxos): it tallies votes per (ballot, value), adding up votes of different slots;
- learner-initial-quorums (reconfig): it counts every slot's votes against the initial configuration;
- learner-config-early (cheap): it takes a configuration command it decided in slot i to govern from slot
  i + 1, whatever configuration the votes name.
"""

from __future__ import annotations

from typing import Any

from acceptor_v2 import Refused, chosen_class, serve  # beside this file, stdlib only


class Learner:
    def __init__(self, init: dict[str, Any]) -> None:
        self.me = init["node"]
        self.quorums: dict[str, dict[str, Any]] = init["quorums"]
        self.fast_rounds = set(init.get("fast_rounds", ()))
        self.configs: list[dict[str, Any]] = init.get("configs", [])
        self.switches: dict[str, int] = init.get("commands", {})
        self.votes: dict[tuple[Any, ...], set[str]] = {}
        """(slot, round, proposer, value) -> the acceptors that voted for it there."""
        self.decided: dict[int, str] = {}

    def handle(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        if msg["type"] == "accept":
            return []  # a copy of a coordinator's proposal: only votes count
        if msg["type"] != "accepted":
            raise Refused("unsupported", f"a learner does not handle {msg['type']}")
        slot = msg.get("slot")
        voters = self.votes.setdefault(self.key(msg), set())
        voters.add(msg["from"])
        if any(set(q) <= voters for q in self.quorum_for(msg)["sets"]):
            slotted = {} if slot is None else {"slot": slot}
            if slot is not None:
                self.decided[slot] = msg["value"]
            return [{"type": "decision", "from": self.me, "value": msg["value"], **slotted}]
        return []

    def quorum_for(self, msg: dict[str, Any]) -> dict[str, Any]:
        """The quorums deciding the vote's ballot: of the configuration it names, where votes name one."""
        if "config" in msg:
            return self.configs[msg["config"]]["phase2"]
        return self.quorum(msg["ballot"][0])

    def key(self, msg: dict[str, Any]) -> tuple[Any, ...]:
        return (msg.get("slot"), *msg["ballot"], msg["value"])

    def quorum(self, rnd: int) -> dict[str, Any]:
        return self.quorums["fast"] if rnd in self.fast_rounds else self.quorums["phase2"]


class ClassicQuorumAtFastBallot(Learner):
    def quorum(self, rnd: int) -> dict[str, Any]:
        return self.quorums["phase2"]  # BUG: a fast ballot's votes may collide; it needs a fast quorum


class CountAcrossSlots(Learner):
    def key(self, msg: dict[str, Any]) -> tuple[Any, ...]:
        return (*msg["ballot"], msg["value"])  # BUG: the same value voted in two slots counts as one tally


class LearnerInitialQuorums(Learner):
    def quorum_for(self, msg: dict[str, Any]) -> dict[str, Any]:
        return self.quorums["phase2"]  # BUG: init's quorums are the initial configuration's, not every slot's


class LearnerConfigEarly(Learner):
    def quorum_for(self, msg: dict[str, Any]) -> dict[str, Any]:
        conf = 0  # BUG: the latest configuration command decided below the slot governs it, with no window
        for slot in sorted(s for s in self.decided if s < msg["slot"]):
            conf = self.switches.get(self.decided[slot], conf)
        return self.configs[conf]["phase2"]


MUTANTS: dict[str, type[Learner]] = {
    "classic-quorum-at-fast-ballot": ClassicQuorumAtFastBallot,
    "count-across-slots": CountAcrossSlots,
    "learner-initial-quorums": LearnerInitialQuorums,
    "learner-config-early": LearnerConfigEarly,
}


def start(init: dict[str, Any]) -> Learner:
    return chosen_class(init, MUTANTS, Learner)(init)


if __name__ == "__main__":
    serve(start)
