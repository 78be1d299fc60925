"""Fast Paxos bugs as overrides of the fast core's named rules (`impl.fast.replica`), for the mutant
catalogue (`impl.mutants`, `impl.sim.mutants.OVERRIDES`)."""

from __future__ import annotations

from paxiom.impl.ballot import Ballot
from paxiom.impl.fast.replica import FastProposer, is_fast


class FastQuorumTooSmall(FastProposer):
    def decides(self, ballot: Ballot, voters: int) -> bool:
        if not is_fast(ballot):
            return super().decides(ballot, voters)
        return any(self.fast_family.is_quorum(voters | 1 << i) for i in range(self.config.n))


class RecoveryAnyValue(FastProposer):
    def recover_value(self, slot: int, reports: dict[int, tuple[int, str | None]]) -> set[str] | None:
        seen = {value for _, value in reports.values() if value is not None}
        return {min(seen)} if seen else None  # any value some acceptor reported, whatever its ballot
