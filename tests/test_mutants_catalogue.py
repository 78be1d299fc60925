"""The oracle has teeth: every catalogued bug is caught within the default budget."""

from __future__ import annotations

import pytest

from paxiom.impl.mutants import MUTANTS, Mutation
from paxiom.impl.sim.hunt import hunt

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
