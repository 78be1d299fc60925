"""Teeth: each injected storage bug makes the storage tests that should catch it fail."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_node_storage import kill_cut_restart
from test_node_wal import (
    test_a_bit_flip_in_the_middle_is_corruption_at_its_lsn_never_a_truncation as bit_flip_in_the_middle,
)
from test_node_wal import test_a_zeroed_block_in_the_middle_names_the_first_lsn_it_hit as zeroed_block
from test_node_wal_groupcommit import SlowSync, closed_loop, open_committer

from paxiom.node.groupcommit import Ticket
from paxiom.node.storage_mutants import MUTANTS, AckBeforeSync, installed


def test_the_catalogue() -> None:
    assert MUTANTS == ("ack-before-sync", "no-crc", "truncate-mid-log")


def test_acknowledging_before_the_sync_is_caught_by_the_ordering_check(tmp_path: Path) -> None:
    sync = SlowSync(0.002)
    committer = open_committer(tmp_path, sync, kind=AckBeforeSync)

    def after_its_sync(ticket: Ticket) -> None:
        assert ticket.last_lsn <= sync.durable

    with pytest.raises(AssertionError):
        closed_loop(committer, submitters=4, each=5, check=after_its_sync)
    committer.close()


def test_acknowledging_before_the_sync_loses_acknowledged_writes_to_a_power_loss(tmp_path: Path) -> None:
    with pytest.raises(AssertionError):
        kill_cut_restart(tmp_path, seed=3, mutant="ack-before-sync")


@pytest.mark.parametrize("mutant", ["no-crc", "truncate-mid-log"])
def test_recovery_bugs_are_caught_by_the_mid_log_damage_tests(tmp_path: Path, mutant: str) -> None:
    for sub in ("flip", "zeroed", "again"):
        (tmp_path / sub).mkdir()
    with installed(mutant):
        with pytest.raises(AssertionError):
            bit_flip_in_the_middle(tmp_path / "flip", "payload")
        with pytest.raises(AssertionError):
            zeroed_block(tmp_path / "zeroed")
    bit_flip_in_the_middle(tmp_path / "again", "payload")
