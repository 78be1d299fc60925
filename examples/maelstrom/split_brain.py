#!/usr/bin/env python3
"""Buggy: failover without an election. A node that has not heard from the primary for 0.3 s promotes the
next node in line, in the same term, without asking anyone and without fencing the old primary.

After a partition that cuts the primary off, both lead at once: the new one commits writes with the
majority, the old one keeps answering reads from what it has. Caught by `--nemesis partition`.
"""

from __future__ import annotations

import time

from primary_kv import PrimaryKV, main

SUSPECT_AFTER = 0.3


class SplitBrain(PrimaryKV):
    @property
    def primary(self) -> str:
        first, second = self.node.node_ids[0], self.node.node_ids[1]
        if self.node.node_id != first and time.monotonic() - self.heard.get(first, 0.0) > SUSPECT_AFTER:
            return second  # the bug: silence is taken for death
        return first

    def tick(self) -> None:
        leading = self.committed is not None
        if self.is_primary() and not leading:
            self.node.log("no word from the primary: taking over")
            self.committed = self.state
        elif leading and not self.is_primary():
            self.node.log("the primary is back: stepping down")
            self.committed, self.inflight, self.queue = None, None, []
        super().tick()


if __name__ == "__main__":
    main(SplitBrain)
