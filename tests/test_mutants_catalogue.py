"""The oracle has teeth: every catalogued bug is caught within the default budget."""

from __future__ import annotations

import pytest

from paxiom.impl.mutants import MUTANTS, Mutation
from paxiom.impl.sim.hunt import hunt
from paxiom.impl.sim.runner import replay

ROLES = {"acceptor", "proposer", "learner", "replication"}


def test_catalogue_is_documented() -> None:
    assert len(MUTANTS) >= 15
    assert {m.mutation for m in MUTANTS.values()} == set(Mutation)
    for info in MUTANTS.values():
        assert info.role in ROLES and len(info.description) > 40


@pytest.mark.parametrize("name", list(MUTANTS))
def test_oracle_catches_mutant(name: str) -> None:
    found = hunt(MUTANTS[name], shrink_seconds=0)
    assert found.found is not None, f"{name} survived {found.runs} runs"
    assert found.found.objection is not None


def test_shrinking_keeps_the_failure_and_cuts_the_schedule() -> None:
    found = hunt(MUTANTS["phase1-quorum-too-small"], shrink_seconds=20)
    assert found.found is not None and found.shrunk is not None
    assert found.shrunk.objection is not None and found.found.objection is not None
    assert found.shrunk.objection.check.split("(")[0] == found.found.objection.check.split("(")[0] == "Phase2a"
    assert len(found.shrunk.steps) < len(found.found.steps) / 4
    again = replay(found.shrunk.settings, found.shrunk.steps)
    assert again.objection is not None and again.objection.check == found.shrunk.objection.check
