"""The named rules the suite judges, the role each belongs to, and the spec function that decides it."""

from __future__ import annotations

import importlib
import re
from typing import NamedTuple

from paxiom.conform.messages import CONFIGURED


class Rule(NamedTuple):
    role: str
    summary: str
    judged_by: str
    variants: frozenset[str] | None = None
    """The variants whose runs judge it; None: every variant."""

    def judged_in(self, variant: str) -> str:
        """`judged_by` naming the variant's own spec module where it has the function (Multi-Paxos's phase1b,
        not Paxos's; Fast Paxos's chosen is Paxos's; Cheap Paxos's phase1b is reconfiguration's)."""
        modules = [importlib.import_module(f"paxiom.spec.{name}") for name in (variant, *BASES.get(variant, ()))]

        def own(m: re.Match[str]) -> str:
            module = next((mod for mod in modules if hasattr(mod, m[1])), None)
            return m[0] if module is None else f"spec.{module.__name__.rpartition('.')[2]}.{m[1]}"

        return re.sub(r"spec\.paxos\.(\w+)", own, self.judged_by)

    def applies_to(self, variant: str) -> bool:
        return self.variants is None or variant in self.variants


BASES = {"cheap": ("reconfig",)}
"""The spec a variant's module builds on, where its actions are (Cheap Paxos: reconfiguration's)."""

RULES: dict[str, Rule] = {
    "promise_above_promise": Rule(
        "acceptor", "promises a ballot only above every ballot it promised or voted in", "spec.acceptor.promise"
    ),
    "promise_reports_last_vote": Rule(
        "acceptor", "a promise reports the acceptor's latest vote truthfully", "spec.paxos.phase1b"
    ),
    "accept_at_or_above_promise": Rule(
        "acceptor", "votes only at or above its promise, and voting raises the promise", "spec.acceptor.accept"
    ),
    "promise_covers_all_slots": Rule(
        "acceptor",
        "keeps one promise for every slot: a vote in one slot bounds promises and votes in all of them",
        "spec.multipaxos.phase1b / phase2b",
        frozenset({"multipaxos"}),
    ),
    "one_vote_per_ballot": Rule(
        "acceptor",
        "votes at most once per ballot: at a fast ballot, for the first client value only",
        "spec.fastpaxos.phase2b / phase2b_any",
        frozenset({"fastpaxos"}),
    ),
    "member_votes": Rule(
        "acceptor",
        "votes only in a slot whose configuration (the one its accept names) has it as a member",
        "spec.reconfig.phase2b / Config.may_vote",
        CONFIGURED,
    ),
    "auxiliary_votes": Rule(
        "acceptor",
        "an auxiliary votes only for a command that retires a main (so its log holds nothing else)",
        "spec.cheap.Config.may_vote / aux_votes_retire",
        frozenset({"cheap"}),
    ),
    "replies_to_requests": Rule(
        "acceptor",
        "promises only ballots it was asked to join, votes only for proposals made to it",
        "spec.paxos.phase1b / phase2b preconditions",
    ),
    "acceptor_answers": Rule(
        "acceptor",
        "answers a prepare or accept the spec lets it take (otherwise every check passes vacuously)",
        "spec.paxos.phase1b / phase2b enabled",
    ),
    "ballot_owned": Rule(
        "proposer", "uses only ballots carrying its own id, so no two proposers share one", "protocol"
    ),
    "ballot_increasing": Rule(
        "proposer",
        "each new phase 1 uses a ballot above every ballot it used before, across restarts",
        "Paxos Made Simple §2.2-2.3",
    ),
    "phase1_quorum": Rule(
        "proposer",
        "sends accept only after promises from a phase-1 quorum of the configured system",
        "spec.paxos.phase2a",
    ),
    "governing_config": Rule(
        "proposer",
        "names in each slot the configuration that governs it, the one in force after slot - alpha, and "
        "proposes there only once slots 0..slot - alpha are chosen",
        "spec.reconfig.phase2a / governing / decided_by",
        CONFIGURED,
    ),
    "auxiliary_only_to_retire": Rule(
        "proposer",
        "sends an auxiliary only proposals it may vote for: commands that retire a main",
        "spec.cheap.Config.may_vote",
        frozenset({"cheap"}),
    ),
    "highest_vote": Rule(
        "proposer",
        "proposes the value of the highest vote its quorum's promises report (any value if none)",
        "spec.paxos.phase2a / spec.voting.highest_vote",
    ),
    "one_value_per_ballot": Rule("proposer", "proposes at most one value per ballot", "spec.paxos.phase2a"),
    "recovery": Rule(
        "proposer",
        "after a collision proposes the value a fast quorum may have chosen (any value if none may have), and "
        "sends any only at a fast ballot whose promises leave it free",
        "spec.fastpaxos.phase2a / phase2a_any / recoverable",
        frozenset({"fastpaxos"}),
    ),
    "learner_quorum": Rule(
        "learner",
        "decides a value only on accepted messages from a phase-2 quorum for the same ballot and value, "
        "each acceptor counted once",
        "spec.paxos.chosen",
    ),
    "agreement": Rule("group", "no two values are chosen or decided", "spec.paxos.agreement"),
    "validity": Rule("group", "only values some client proposed are chosen or decided", "spec.paxos.validity"),
    "crash": Rule("any", "the implementation raised an exception or its process died", "runner"),
    "timeout": Rule("any", "the implementation did not answer an input in time", "runner"),
    "protocol": Rule("any", "the implementation emitted a malformed, misaddressed or out-of-role message", "runner"),
}
