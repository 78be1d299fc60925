#!/usr/bin/env python3
"""Buggy: the primary acknowledges an update once it is on its own disk, before a quorum has it.

The backups are brought up to date by the periodic push, once a second ("followers catch up in the
background"). A primary that loses its disk recovers from the backups without the writes it acknowledged
last. Caught by `--nemesis wipe`.
"""

from __future__ import annotations

from collections.abc import Callable

from maelstrom_node import Body
from primary_kv import PrimaryKV, main


class EarlyAck(PrimaryKV):
    REPLICATE_EVERY = 1.0

    def acks_needed(self) -> int:
        return 0  # the bug: a majority should hold it first

    def begin(self, version: int, respond: Callable[[Body], None] | None, reply: Body | None) -> None:
        self.inflight = (version, respond, reply)
        self.maybe_commit()  # and no replication on the way: the next tick ships it


if __name__ == "__main__":
    main(EarlyAck)
