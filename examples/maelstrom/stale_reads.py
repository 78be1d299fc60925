#!/usr/bin/env python3
"""Buggy: every node answers reads from its own copy ("reads scale with the cluster").

A backup's copy lags the primary, and a partitioned backup keeps serving it: stale reads. Caught by
`--nemesis partition`.
"""

from __future__ import annotations

from maelstrom_node import Msg
from primary_kv import PrimaryKV, main


class StaleReads(PrimaryKV):
    def on_client(self, msg: Msg) -> None:
        if msg["body"]["type"] == "read" and not self.is_primary():
            self.node.reply(msg, self.read(self.state, msg["body"]))  # the bug: no trip to the primary
            return
        super().on_client(msg)


if __name__ == "__main__":
    main(StaleReads)
