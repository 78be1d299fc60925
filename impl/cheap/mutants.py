"""Cheap Paxos bugs as overrides of the cheap core's named rules (`impl.cheap.replica`), for the mutant
catalogue (`impl.mutants`, `impl.sim.mutants.OVERRIDES`)."""

from __future__ import annotations

from paxiom.impl.cheap.replica import CheapProposer, CheapReplica, retired_config
from paxiom.impl.reconfig import Epoch
from paxiom.impl.values import Value
from paxiom.spec import cheap
from paxiom.spec.quorums import QuorumSystem


class CheapAuxVotesCommands(CheapProposer):
    def accept_targets(self, epoch: Epoch, value: Value) -> frozenset[int]:
        return epoch.members


class CheapAuxAcceptsCommands(CheapReplica):
    def may_vote(self, value: Value) -> bool:
        return True


class CheapRetireKeepsAuxiliaries(CheapProposer):
    def retired(self, main: int) -> tuple[QuorumSystem, frozenset[int]]:
        """The retirement of spec/cheap.py's "aux-quorum" bug: every auxiliary kept, so that fewer mains and
        the same auxiliaries make quorums that need not meet."""
        spec = cheap.Config(self.config.quorums, ("",), 0, mains=self.spec.mains, bug="aux-quorum")
        return retired_config(spec, main)
