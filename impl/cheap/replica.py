"""Cheap Paxos's replica: mains carry the log, auxiliaries step in only to retire a failed main.

Normal operation is the core's with `ReplicaConfig.auxiliaries` (`impl.reconfig.Epoch.voters`): ordinary
commands go to the mains alone, so every main must vote. The leader here watches its mains: one that has
left an Accept unanswered for `SUSPECT_AFTER` election timeouts of heartbeats is suspected. The leader
then stands again at a higher ballot and proposes the configuration `spec/cheap.py` switches to when that
main retires (`cheap.Config`'s quorums, members and mains, read from the spec, not rebuilt), which the
surviving mains and the auxiliaries choose. Until the switch governs (α slots on), every slot the leader
fills is another copy of the retirement, since nothing else can be chosen there without the failed main;
then the new configuration's mains carry on alone. Suspicion acts from any of cheap's configurations in
force (`in_force`; an operator's has no retirement in the spec): `cfgk` holds wherever main k is a main, and
from configuration j it brings main j back, so the leader proposes it only once it heard from main j
(repaired and restarted). `spec/cheap.py` has no configuration without two mains: two failed for good stop
the log, whatever the leader does.

The leader votes last for an ordinary command (`own_votes`), so with two mains a failed main leaves no
vote of the survivor in the slots in flight, and the new ballot finds them free. With three mains or more
another survivor may have voted such a command; re-proposing it (the highest-vote rule) would wait for the
failed main for good, since auxiliaries vote only for retirements. So a leader standing to retire a main
waits for the promises that leave such a slot free (`freed`: a phase-1 quorum of promises with no vote
there, say the auxiliaries' and its own), and gives it the retirement; the command is queued again.

Auxiliaries (`CheapReplica`, when `me` is one) refuse to vote for anything but a configuration command,
whoever asks, and never stand for election: a leader must hold the log. Nor do they learn it (no
decisions, no catch-up: `learns_log` is False), so all an auxiliary stores is its promise and its votes
for retirements.

The rules a bug would break are small named methods (`Proposer.accept_targets` of the core,
`CheapProposer.retired`, `CheapReplica.may_vote`), which the mutant catalogue overrides (`impl.cheap.mutants`).
"""

from __future__ import annotations

from typing import Any

from paxiom.impl.ballot import Ballot
from paxiom.impl.config import ReplicaConfig
from paxiom.impl.messages import Accept, Accepted, CatchUpReply, CatchUpRequest, Chosen, Message, Vote
from paxiom.impl.proposer import Outgoing, Proposer, Role
from paxiom.impl.reconfig import Epoch, config_command, encode_config, switch_of
from paxiom.impl.replica import Replica
from paxiom.impl.storage import DurableState
from paxiom.impl.values import NOOP, Command, Value
from paxiom.spec import cheap
from paxiom.spec.quorums import QuorumSystem

SUSPECT_AFTER = 2
"""Election timeouts (in heartbeats) a main may leave an Accept unanswered before the leader retires it."""
PATIENT_STANDINGS = 3
"""Standings in which a candidate retiring a main waits for the promises that free the commands it stranded."""
RETIREMENT_CLIENT = "paxiom/cheap"
"""The client of the retirement commands (`seq` numbers the copies that fill the α-window)."""


def cheap_spec(config: ReplicaConfig) -> cheap.Config:
    """Cheap's constants for this cluster: its configuration 0 and how many acceptors are mains."""
    return cheap.Config(config.quorums, ("",), 0, mains=config.n - len(config.auxiliaries))


def retiring(spec: cheap.Config, main: int) -> int:
    """The number of the configuration `spec`'s retirement of `main` switches to (`cfgk`)."""
    return next(k for k in range(1, len(spec.configs)) if main not in spec.members[k])


def retired_config(spec: cheap.Config, main: int) -> tuple[QuorumSystem, frozenset[int]]:
    """The configuration `spec`'s retirement of `main` switches to, and its auxiliaries."""
    k = retiring(spec, main)
    return spec.configs[k], spec.members[k] - spec.mains_of[k]


class CheapProposer(Proposer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spec = spec = cheap_spec(self.config)
        self.layouts = [
            encode_config(qs, auxiliaries=spec.members[k] - spec.mains_of[k]) for k, qs in enumerate(spec.configs)
        ]
        """Cheap's configurations as a switch to each encodes them (`in_force` finds the one in force)."""
        self.silent: dict[int, int] = {}
        """Per main, heartbeats in a row it owed us a vote and sent none."""
        self.suspect: int | None = None
        """The main being retired, while we lead (or stand again to)."""
        self.copies = 0
        """Retirement commands proposed so far at our ballot (their `seq`)."""
        self.due: list[int] = []
        """Slots whose every other voter has voted: our own vote is due (`own_votes`)."""
        self.heard: set[int] = set()
        """The nodes we heard from since we last stood (a main a retirement would bring back must be one:
        restarted, it asks us to catch it up)."""
        self.standings = 0
        """How many times we stood for election (a retirement's first standing hears every other member)."""
        self.retiring_at: int | None = None
        """The standing at which we began retiring the suspect."""

    def retired(self, main: int) -> tuple[QuorumSystem, frozenset[int]]:
        """Cheap's configuration without `main` and its auxiliaries."""
        return retired_config(self.spec, main)

    def retirement(self, main: int) -> Command:
        """The next copy of the command retiring `main`."""
        self.copies += 1
        client = f"{RETIREMENT_CLIENT}/{self.me}/{self.ballot.round}"
        return config_command(client, self.copies, *self.retired(main))

    def accept_targets(self, epoch: Epoch, value: Value) -> frozenset[int]:
        """The core's voters, but for an ordinary command not ourselves while others must vote: the leader
        votes last (`own_votes`), so a main that fails leaves no vote of ours behind in the slot."""
        targets = super().accept_targets(epoch, value)
        return targets - {self.me} if switch_of(value) is None and targets - {self.me} else targets

    def on_accepted(self, src: int, msg: Accepted) -> Value | None:
        """The core's tally; the vote that completes every other voter's makes our own due. Only that one: a
        copy of a vote counted already (a duplicate, a retransmission's answer) while ours is being synced
        must not cast ours again."""
        self.silent[src] = 0
        proposal = self.proposals.get(msg.slot)
        fresh = proposal is not None and not proposal.accepted >> src & 1
        decided = super().on_accepted(src, msg)
        if fresh and proposal is not None and msg.slot in self.proposals and self.counts(msg.ballot):
            others = self.accept_targets(proposal.epoch, proposal.value) - {self.me}
            if not proposal.accepted >> self.me & 1 and all(proposal.accepted >> a & 1 for a in others):
                self.due.append(msg.slot)
        return decided

    def own_votes(self) -> Outgoing:
        """Our own Accepts for the slots in which every other voter has voted."""
        due, self.due = self.due, []
        return [(self.me, Accept(self.ballot, s, self.proposals[s].value)) for s in due if s in self.proposals]

    def retransmit(self, commit: int, patience: int = 0) -> Outgoing:
        """Each heartbeat: count the mains that owe a vote; once one stayed silent too long, stand again at
        a higher ballot, whose phase 1 (the other mains and the auxiliaries) frees the slots it left open."""
        if self.watch(commit):
            return self.start_election(self.ballot, commit)
        return super().retransmit(commit, patience)

    def in_force(self, commit: int) -> int | None:
        """Cheap's number for the configuration governing every open slot (None: a switch is still in its
        α-window, or the configuration is an operator's, for which `spec/cheap.py` has no retirement)."""
        epochs = self.configs.open_epochs(commit)
        if epochs != [self.configs.latest]:
            return None
        shown = encode_config(epochs[0].quorums, auxiliaries=epochs[0].auxiliaries)
        return next((k for k, layout in enumerate(self.layouts) if layout == shown), None)

    def watch(self, commit: int) -> bool:
        """Whether to stand again: a main of the configuration in force stayed silent. Its retirement (cheap's
        `cfgk`, which holds from any configuration in which it is a main) is then queued first, and the
        commands in flight after it (standing again drops the proposals, and their slots may come back as
        holes). From configuration j ≠ 0 that retirement brings main j back, so it is proposed only once we
        heard from main j since we stood (its promise, or, restarted after that, its request to catch up
        on our heartbeats): else it would swap one failed main for another, and we wait. A suspect is
        cleared once its retirement governs every open slot."""
        k = self.in_force(commit)
        if k is not None and self.suspect is not None and self.suspect not in self.spec.members[k]:
            self.suspect = self.retiring_at = None  # retired: its retirement governs every open slot
        if k is None or self.suspect is not None:
            return False  # no retirement of cheap's applies, or retiring already
        beats = SUSPECT_AFTER * self.config.election_timeout // max(1, self.config.heartbeat_interval)
        for main in sorted(self.spec.mains_of[k] - {self.me}):
            owes = any(slot >= commit and not p.accepted >> main & 1 for slot, p in self.proposals.items())
            self.silent[main] = self.silent.get(main, 0) + 1 if owes else 0
            if self.silent[main] < beats:
                continue
            if not self.spec.mains_of[retiring(self.spec, main)] - self.spec.members[k] <= self.heard:
                continue  # it would bring back a main we have not heard from since we stood: still down
            stranded = {
                c: None for _, p in sorted(self.proposals.items()) if switch_of(p.value) is None for c in p.value
            }
            self.suspect, self.retiring_at = main, self.standings + 1
            self.queue = {self.retirement(main): None, **stranded, **self.queue}
            return True
        return False

    def needs_suspect(self, slot: int) -> bool:
        """Whether the suspect would have to vote for an ordinary command in `slot` (its configuration known)."""
        epoch = self.configs.epoch(slot, self.configs.learned + 1)
        return self.suspect is not None and epoch is not None and self.suspect in epoch.voters(NOOP)

    def phase1_covers(self, promised: int, epoch: Epoch) -> bool:
        """The core's rule; but a candidate standing to retire the suspect waits, while a reported command
        in a slot the suspect governs is not `freed` yet, for every other member of the configuration: one
        more promise without a vote there may free it. If one of them is down too, the election times out,
        and after `PATIENT_STANDINGS` standings any quorum will do again."""
        covered = super().phase1_covers(promised, epoch)
        suspect, since = self.suspect, self.retiring_at
        if not covered or self.role is not Role.CANDIDATE or suspect is None or since is None:
            return covered
        if self.standings - since >= PATIENT_STANDINGS:
            return True
        if all(promised >> a & 1 for a in epoch.members - {suspect}):
            return True
        voted = {v.slot for p in self.promises.values() for v in p.votes if switch_of(v.value) is None}
        return all(self.freed(slot) for slot in voted if self.needs_suspect(slot))

    def freed(self, slot: int) -> bool:
        """Whether a phase-1 quorum of `slot`'s configuration promised us and reported no vote there: then
        nothing can have been chosen in it (each phase-2 quorum meets that one), and any value may be
        proposed (`spec/reconfig.py` proposable reads any promised quorum). So a command that a surviving
        main voted while the suspect did not need not be re-proposed where only the suspect could choose it."""
        epoch = self.configs.epoch(slot, self.configs.learned + 1)
        silent = sum(1 << a for a, p in self.promises.items() if all(v.slot != slot for v in p.votes))
        return epoch is not None and epoch.quorums.phase1.is_quorum(silent)

    def pick_value(self, slot: int, reported: Vote | None) -> Value | None:
        """A slot nobody reported a vote in, or that a quorum left free, gets a copy of the retirement while
        the suspect governs it."""
        if self.suspect is not None and self.needs_suspect(slot) and (reported is None or self.freed(slot)):
            return (self.retirement(self.suspect),)
        return super().pick_value(slot, reported)

    def next_batch(self) -> Value:
        """While the suspect must still vote in the next slot, that slot gets a copy of its retirement
        (queued commands wait): nothing else could be chosen there."""
        queued = next(iter(self.queue), None)
        if self.suspect is None or not self.needs_suspect(self.next_slot):
            return super().next_batch()
        if queued is not None and switch_of((queued,)) is not None:
            return super().next_batch()
        return (self.retirement(self.suspect),)

    def start_election(self, promised: Ballot, first_slot: int) -> Outgoing:
        self.silent, self.copies, self.due, self.heard = {}, 0, [], set()
        self.standings += 1
        return super().start_election(promised, first_slot)

    def step_down(self) -> None:
        super().step_down()
        self.suspect = self.retiring_at = None


class CheapReplica(Replica):
    proposer_class: type[Proposer] = CheapProposer

    def __init__(self, config: ReplicaConfig, durable: DurableState | None = None, incarnation: int = 0) -> None:
        super().__init__(config, durable, incarnation)
        self.auxiliary = self.me in config.auxiliaries
        self.learns_log = not self.auxiliary

    def behind(self, commit: int) -> bool:
        return self.learns_log and super().behind(commit)

    def may_vote(self, value: Value) -> bool:
        """An auxiliary votes only for a configuration command (`spec/cheap.py` may_vote); a main for anything."""
        return not self.auxiliary or switch_of(value) is not None

    def tick(self) -> None:
        if self.auxiliary:
            self._reset_timer()  # an auxiliary never stands: a leader needs the log
        super().tick()

    def _handle(self, src: int, msg: Message) -> None:
        if src != self.me and isinstance(self.proposer, CheapProposer):
            self.proposer.heard.add(src)
        if isinstance(msg, Accept) and not self.may_vote(msg.value):
            return
        if self.auxiliary and isinstance(msg, Chosen | CatchUpRequest | CatchUpReply):
            return  # an auxiliary neither learns nor serves the log
        super()._handle(src, msg)
        if isinstance(msg, Accepted) and isinstance(self.proposer, CheapProposer):
            self._send(self.proposer.own_votes())
