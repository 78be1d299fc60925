"""The core's local invariants, checked as it runs (in the spirit of TigerBeetle's assertions).

A replica that catches itself breaking one — a vote below its promise, a promise going down, its commit
index going back, a gap in what its host applied, a chosen entry changing, a message at a ballot it does
not hold — raises `BrokenInvariant` rather than carry on: it is a bug in the core (or its host), never a
bad input, and continuing could break safety.
"""

from __future__ import annotations


class BrokenInvariant(AssertionError):
    """The core broke one of its own invariants."""
