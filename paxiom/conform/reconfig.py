"""Reconfiguration and Cheap Paxos conformance: a log whose slots each have a configuration, judged by
`spec/reconfig.py` and `spec/cheap.py`.

A configuration command `cfgK` chosen in slot i makes configuration K govern the slots from i + α on
(`reconfig.decided_by`, `reconfig.governing`). So the log is Multi-Paxos's (`conform/multi.py`) with every
proposal and vote naming a configuration, and what changes is per slot: an acceptor votes only in the
configurations it is a member of (`Config.may_vote`), a leader proposes in slot s only once slots
0..s − α are chosen, names the configuration that governs s, and needs promises from a phase-1 quorum of
that configuration (`reconfig.phase2a`: an old configuration's quorum for a slot the new one governs is a
finding), and a learner decides on a phase-2 quorum of the configuration the votes name
(`reconfig.chosen`). Cheap Paxos adds its auxiliaries: one votes only for a command retiring a main
(`cheap.Config.may_vote`), so a leader sends it nothing else, and it must keep its promise and those votes.
"""

from __future__ import annotations

from typing import Any, ClassVar

from paxiom.conform.configs import auxiliaries
from paxiom.conform.judges import Violated
from paxiom.conform.messages import Accept, Accepted, Ballot, describe
from paxiom.conform.multi import LogSpec, LogState, MultiJudge, MultiWorld
from paxiom.conform.world import pick
from paxiom.spec import reconfig
from paxiom.spec.quorums import QuorumFamily


class ConfigJudge(MultiJudge):
    cfg: reconfig.Config
    spec: ClassVar[LogSpec] = reconfig

    def spec_config(self) -> reconfig.Config:
        return self.setup.log_config

    @property
    def commands(self) -> tuple[str, ...]:
        return self.cfg.commands

    # ------------------------------------------------------------ the spec's messages and actions

    def proposal_msg(self, bal: int, slot: int, val: str, conf: int | None) -> reconfig.M2a:
        assert conf is not None, "the wire of these variants always carries a configuration"
        return reconfig.M2a(bal, slot, val, conf)

    def vote_msg(self, acc: int, bal: int, slot: int, val: str, conf: int | None) -> reconfig.M2b:
        assert conf is not None, "the wire of these variants always carries a configuration"
        return reconfig.M2b(acc, bal, slot, val, conf)

    def conf_of(self, m: Any) -> int:
        return int(m.conf)

    def proposable_in(self, view: LogState, m: Any) -> set[str]:
        return reconfig.proposable(self.cfg, view, m.bal, m.slot, m.conf)

    def phase1_family(self, m: Any) -> QuorumFamily:
        return self.cfg.configs[self.conf_of(m)].phase1

    proposal_view = ("2a", "2b")
    """A proposal is judged against what is chosen (the votes anybody sent): that decides its slot's
    configuration, as in the spec's Phase2a."""

    def suite_proposal(self, bi: int, slot: int, want: str) -> Any | None:
        conf = reconfig.leader_config(self.cfg, self.chosen_in(self.s), slot)
        if conf is None:
            return None  # the window: slots up to slot - alpha are not all chosen yet
        return self.proposal_under(bi, slot, want, conf)

    # ------------------------------------------------------------ the rules' words

    def place(self, m: Accept) -> str:
        return f" in slot {m.slot} under configuration {m.config}"

    def quorum_words(self, m: Any) -> str:
        return f"the phase-1 quorums of configuration {m.conf}, which slot {m.slot}'s proposal names,"

    def deciding_quorums(self, votes: list[Any]) -> str:
        named = sorted({m.conf for m in votes}) or range(len(self.cfg.configs))
        each = "; ".join(f"configuration {k}: {self.cfg.configs[k].phase2.describe()}" for k in named)
        return f"a phase-2 quorum of the configuration its votes name ({each})"

    def members_text(self, conf: int) -> str:
        return "{" + ", ".join(self.setup.acceptors[a] for a in sorted(self.cfg.members[conf])) + "}"

    def misnamed(self, view: LogState, m: Any) -> tuple[str, str] | None:
        """The α-window: slot s's configuration is the one after slots 0..s − α, known once they are chosen."""
        log = self.chosen_in(view)
        governs = reconfig.governing(self.cfg, log, m.slot)
        last = reconfig.decided_by(self.cfg.alpha, m.slot)
        what = f"proposed {m.val} in slot {m.slot} under configuration {m.conf}"
        if governs is None:
            missing = ", ".join(str(j) for j in range(last + 1) if j not in log)
            return "governing_config", (
                f"{what} before slots 0..{last} were chosen (slot {missing} is not): with alpha = {self.cfg.alpha} "
                f"they decide which configuration governs slot {m.slot}"
            )
        if governs != m.conf:
            rule = f"a configuration chosen in slot i governs from slot i + {self.cfg.alpha}"
            decided = ", ".join(f"slot {j}: {'/'.join(sorted(log[j]))}" for j in range(last + 1))
            why = (
                f"slots 0..{last} chose {decided}"
                if last >= 0
                else f"slot {m.slot} is below alpha, so the initial configuration governs it"
            )
            return "governing_config", f"{what}, but configuration {governs} governs it: {rule}, and {why}"
        return None

    def refuse_log_vote(self, node: str, view: LogState, m: Any, o: Accepted) -> Violated:
        asked = [p for p in view.msgs if p.type == "2a" and (p.bal, p.slot, p.val) == (m.bal, m.slot, m.val)]
        what = f"voted for {o.value} at {o.ballot} in slot {m.slot} under configuration {m.conf}"
        if asked and asked[0].conf != m.conf:
            reason = f"{what}, but the accept it got names configuration {asked[0].conf}"
            return Violated("replies_to_requests", node, reason)
        if asked and not self.cfg.may_vote(m.acc, m.conf, m.val):
            return self.not_a_voter(node, m, what)
        return super().refuse_log_vote(node, view, m, o)

    def not_a_voter(self, node: str, m: Any, what: str) -> Violated:
        """A vote the configuration does not let the acceptor cast (here: it is not a member)."""
        return Violated("member_votes", node, f"{what}, whose members are {self.members_text(m.conf)}")


class CheapJudge(ConfigJudge):
    """Cheap Paxos: the configurations follow from the mains (`spec/cheap.py`); an auxiliary votes, and is
    sent proposals, only for the commands that retire a main."""

    def switches(self) -> str:
        return ", ".join(self.cfg.commands[len(self.cfg.values) :])

    def not_a_voter(self, node: str, m: Any, what: str) -> Violated:
        if m.acc not in auxiliaries(self.cfg, m.conf):
            return super().not_a_voter(node, m, what)
        only = f"an auxiliary votes only for retiring a main ({self.switches()})"
        reason = f"{what}, an ordinary command, as an auxiliary: {only}"
        return Violated("auxiliary_votes", node, reason)

    def check_recipient(self, node: str, o: Accept, m: Any) -> None:
        a = self.acc_index.get(o.dst)
        if a is None or a not in auxiliaries(self.cfg, m.conf) or self.cfg.may_vote(a, m.conf, m.val):
            return
        raise Violated(
            "auxiliary_only_to_retire",
            node,
            f"sent {describe(o)} to {o.dst}, an auxiliary of configuration {m.conf}: an ordinary command goes to "
            f"the mains alone, and an auxiliary takes part only to retire a failed main ({self.switches()})",
        )


class ConfigWorld(MultiWorld):
    """Multi-Paxos's world whose suite leaders act by `spec/reconfig.py` (their proposals name the
    configuration that governs the slot, and wait for the window), and whose accepts to an acceptor under
    test name any configuration: the acceptor must vote as that configuration lets it."""

    judge_class: type[ConfigJudge] = ConfigJudge
    j: ConfigJudge

    def do_accept(self, p: int, rnd: int, slot: int, vk: int, ck: int = 0) -> None:
        """A suite proposer asks the acceptor under test to vote in `slot` under configuration `ck` (modulo)."""
        self.send_accept(Ballot(rnd, pick(self.rivals, p)), slot, vk, ck % len(self.j.cfg.configs))


class CheapWorld(ConfigWorld):
    judge_class = CheapJudge
