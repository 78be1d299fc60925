#!/usr/bin/env python3
"""Buggy: writes its state to disk but never reads it back, so a restarted node starts empty and serves.

Caught by `--nemesis kill` (kill -9 of the primary, restart with its data directory intact).
"""

from __future__ import annotations

from primary_kv import PrimaryKV, State, empty, main


class Forgetful(PrimaryKV):
    def recall(self) -> State | None:
        return empty()  # the bug: the log on disk is not replayed, and an empty state is trusted as fresh


if __name__ == "__main__":
    main(Forgetful)
