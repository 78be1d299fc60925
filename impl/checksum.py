"""The checksum chain over the chosen prefix of the log.

`chain(prev, slot, value)` folds one chosen entry into the running digest, so the checksum at slot s
fixes every entry at or below s. Two replicas whose checksums differ at the same slot have diverged (or
one log is corrupted); a catch-up reply whose entries do not reproduce the checksums it claims is
rejected instead of applied.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from paxiom.impl.values import Value, encode_value

GENESIS = bytes(16)
"""The checksum of the empty prefix."""


def chain(prev: bytes, slot: int, value: Value) -> bytes:
    digest = hashlib.blake2b(prev, digest_size=16)
    digest.update(slot.to_bytes(8, "big", signed=True))
    digest.update(encode_value(value))
    return digest.digest()


def state_digest(state: bytes, checksum: bytes, switches: Iterable[tuple[int, Value, bytes]] = ()) -> bytes:
    """Seals a snapshot: its state bytes together with the chain checksum of the prefix it covers, and the
    configuration switches it carries (slot, value, chain checksum; none leaves the digest as it was)."""
    digest = hashlib.blake2b(checksum + state, digest_size=16)
    carried = tuple(switches)
    if carried:  # where the state ends, so no state can pass for a shorter one with switches
        digest.update(len(state).to_bytes(8, "big"))
    for slot, value, link in carried:
        digest.update(slot.to_bytes(8, "big", signed=True) + link)
        digest.update(encode_value(value))
    return digest.digest()
