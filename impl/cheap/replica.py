"""Cheap Paxos's replica: mains carry the log, auxiliaries step in only to retire a failed main.

Normal operation is the core's with `ReplicaConfig.auxiliaries` (`impl.reconfig.Epoch.voters`): ordinary
commands go to the mains alone, so every main must vote. The leader here watches its mains: one that has
left an Accept unanswered for `SUSPECT_AFTER` election timeouts of heartbeats is suspected, and the
leader proposes the configuration `spec/cheap.py` switches to when that main retires (`cheap.Config`:
its quorums, members and mains, read from the spec, not rebuilt). The auxiliaries may vote for it, so the
surviving mains and the auxiliaries choose it. Until the switch governs (α slots on), every slot the
leader fills is another copy of the retirement, since nothing else can be chosen there without the
failed main; then the new configuration's mains carry on alone. Suspicion is only ever acted on from
configuration 0: cheap's retirements are defined from it, and after one there is no spare main to bring
in.

Auxiliaries (`CheapReplica`, when `me` is one) refuse to vote for anything but a configuration command,
whoever asks, and never stand for election: a leader must hold the log, which they need not keep. As the
spec says, the restriction costs liveness, not safety: a slot in which a surviving main voted an ordinary
command before the failure waits for the failed main.

The rules a bug would break are small named methods (`Proposer.accept_targets` of the core,
`CheapProposer.retired`, `CheapReplica.may_vote`), which the mutant catalogue overrides (`impl.cheap.mutants`).
"""

from __future__ import annotations

from typing import Any

from paxiom.impl.ballot import Ballot
from paxiom.impl.config import ReplicaConfig
from paxiom.impl.messages import Accept, Accepted, Message
from paxiom.impl.proposer import Outgoing, Proposer
from paxiom.impl.reconfig import config_command, switch_of
from paxiom.impl.replica import Replica
from paxiom.impl.storage import DurableState
from paxiom.impl.values import NOOP, Command, Value
from paxiom.spec import cheap
from paxiom.spec.quorums import QuorumSystem

SUSPECT_AFTER = 2
"""Election timeouts (in heartbeats) a main may leave an Accept unanswered before the leader retires it."""
RETIREMENT_CLIENT = "paxiom/cheap"
"""The client of the retirement commands (`seq` numbers the copies that fill the α-window)."""


def cheap_spec(config: ReplicaConfig) -> cheap.Config:
    """Cheap's constants for this cluster: its configuration 0 and how many acceptors are mains."""
    return cheap.Config(config.quorums, ("",), 0, mains=config.n - len(config.auxiliaries))


def retired_config(spec: cheap.Config, main: int) -> tuple[QuorumSystem, frozenset[int]]:
    """The configuration `spec`'s retirement of `main` switches to (`cfgk`), and its auxiliaries."""
    k = next(k for k in range(1, len(spec.configs)) if main not in spec.members[k])
    return spec.configs[k], spec.members[k] - spec.mains_of[k]


class CheapProposer(Proposer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spec = cheap_spec(self.config)
        self.silent: dict[int, int] = {}
        """Per main, heartbeats in a row it owed us a vote and sent none."""
        self.suspect: int | None = None
        """The main being retired, while we lead."""
        self.copies = 0
        """Retirement commands proposed so far in this leadership (their `seq`)."""

    def retired(self, main: int) -> tuple[QuorumSystem, frozenset[int]]:
        """Cheap's configuration without `main` and its auxiliaries."""
        return retired_config(self.spec, main)

    def retirement(self, main: int) -> Command:
        """The next copy of the command retiring `main`."""
        self.copies += 1
        client = f"{RETIREMENT_CLIENT}/{self.me}/{self.ballot.round}"
        return config_command(client, self.copies, *self.retired(main))

    def retransmit(self, commit: int, patience: int = 0) -> Outgoing:
        """Each heartbeat: count the mains that owe a vote, and suspect one silent too long."""
        self.watch(commit)
        return super().retransmit(commit, patience)

    def watch(self, commit: int) -> None:
        if self.suspect is not None or len(self.configs.epochs) > 1:
            return  # retiring already, or no longer in configuration 0
        beats = SUSPECT_AFTER * self.config.election_timeout // max(1, self.config.heartbeat_interval)
        for main in sorted(self.spec.mains_of[0] - {self.me}):
            owes = any(
                slot >= commit and not p.accepted >> main & 1 and main in p.epoch.voters(p.value)
                for slot, p in self.proposals.items()
            )
            self.silent[main] = self.silent.get(main, 0) + 1 if owes else 0
            if self.silent[main] >= beats:
                self.suspect = main
                self.queue = {self.retirement(main): None, **self.queue}
                return

    def next_batch(self) -> Value:
        """While the suspect must still vote in the next slot, that slot gets a copy of its retirement
        (queued commands wait): nothing else could be chosen there."""
        epoch = self.configs.epoch(self.next_slot, self.configs.learned + 1)
        suspect = self.suspect
        if suspect is None or epoch is None or suspect not in epoch.voters(NOOP):
            return super().next_batch()
        queued = next(iter(self.queue), None)
        if queued is not None and switch_of((queued,)) is not None:
            return super().next_batch()
        return (self.retirement(suspect),)

    def on_accepted(self, src: int, msg: Accepted) -> Value | None:
        self.silent[src] = 0
        return super().on_accepted(src, msg)

    def step_down(self) -> None:
        super().step_down()
        self._forget_suspicion()

    def start_election(self, promised: Ballot, first_slot: int) -> Outgoing:
        self._forget_suspicion()
        return super().start_election(promised, first_slot)

    def _forget_suspicion(self) -> None:
        self.suspect, self.silent, self.copies = None, {}, 0


class CheapReplica(Replica):
    proposer_class: type[Proposer] = CheapProposer

    def __init__(self, config: ReplicaConfig, durable: DurableState | None = None, incarnation: int = 0) -> None:
        super().__init__(config, durable, incarnation)
        self.auxiliary = self.me in config.auxiliaries

    def may_vote(self, value: Value) -> bool:
        """An auxiliary votes only for a configuration command (`spec/cheap.py` may_vote); a main for anything."""
        return not self.auxiliary or switch_of(value) is not None

    def tick(self) -> None:
        if self.auxiliary:
            self._reset_timer()  # an auxiliary never stands: a leader needs the log
        super().tick()

    def _handle(self, src: int, msg: Message) -> None:
        if isinstance(msg, Accept) and not self.may_vote(msg.value):
            return
        super()._handle(src, msg)
