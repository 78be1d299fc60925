"""Concurrent clients recording a Jepsen-style history of cas-registers, one per key, through the KV store.

Each worker is one process of the history with its own client session: it invokes an op, waits for the
answer, records the completion — `ok`; `fail` when the service certainly did not apply it (a cas whose
precondition failed, or the client found no node able to serve: nothing submitted); `info` when the
outcome is unknown (a timeout, a refused request, anything else). Written values are unique per key, so a
value read names the one write that produced it.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

from paxiom.client import NotLeader, Timeout, Unavailable
from paxiom.client.aio import AsyncClient
from paxiom.lin.history import Event
from paxiom.node import kvstore as kv
from paxiom.node.clusterfile import Address


def _int(value: bytes | None) -> int | None:
    return None if value is None else int(value)


@dataclass
class Recorder:
    started: float = field(default_factory=time.monotonic)
    events: list[Event] = field(default_factory=list)

    def now(self) -> int:
        return int((time.monotonic() - self.started) * 1e9)

    def add(self, process: int | str, type_: Any, f: str, value: Any, key: str, error: Any = None) -> None:
        self.events.append(Event(len(self.events), process, type_, f, value, key, self.now(), error))


class Workload:
    def __init__(
        self,
        addresses: dict[str, Address],
        context: ssl.SSLContext | None,
        rng: random.Random,
        *,
        workers: int = 5,
        keys: int = 3,
        timeout: float = 3.0,
        pace: float = 0.01,
        fast: bool = False,
    ) -> None:
        self.addresses = addresses
        self.context = context
        self.rng = rng
        self.workers = workers
        self.keys = [f"k{i}" for i in range(keys)]
        self.timeout = timeout
        self.pace = pace
        self.fast = fast
        """A Fast Paxos cluster: each client sends its commands straight to every node (the fast path)."""
        self.recorder = Recorder()
        self.values = itertools.count(1)
        self.last: dict[str, int | None] = dict.fromkeys(self.keys)
        self.stopping = asyncio.Event()

    def client(self, timeout: float | None = None) -> AsyncClient:
        return AsyncClient(self.addresses, self.context, timeout=timeout or self.timeout, attempt_timeout=1.0,
                           fast=self.fast)  # fmt: skip

    async def run(self) -> None:
        await asyncio.gather(*(self._worker(i) for i in range(self.workers)))

    async def _worker(self, process: int) -> None:
        async with self.client() as client:
            while not self.stopping.is_set():
                await self.one(client, process)
                await asyncio.sleep(self.rng.uniform(0, 2 * self.pace))

    async def one(self, client: AsyncClient, process: int | str, f: str | None = None, key: str | None = None) -> Any:
        rng = self.rng
        key = key or rng.choice(self.keys)
        f = f or rng.choices(["read", "write", "cas"], [4, 3, 3])[0]
        record = self.recorder.add
        if f == "read":
            value: Any = None
        elif f == "write":
            value = next(self.values)
        else:
            known = self.last[key]
            old = known if known is not None and rng.random() < 0.7 else rng.randint(1, max(1, next(self.values)))
            value = (old, next(self.values))
        record(process, "invoke", f, value, key)
        try:
            if f == "read":
                got = _int(await client.get(key))
                record(process, "ok", f, got, key)
                self.last[key] = got
                return got
            if f == "write":
                await client.put(key, str(value).encode())
                record(process, "ok", f, value, key)
                self.last[key] = value
                return value
            result = await client.cas(key, str(value[0]).encode(), str(value[1]).encode())
            if result.status == kv.OK:
                record(process, "ok", f, value, key)
                self.last[key] = value[1]
            else:
                record(process, "fail", f, value, key, result.status)
                self.last[key] = _int(result.value)
            return result.status
        except (Unavailable, NotLeader) as exc:
            record(process, "fail", f, value, key, type(exc).__name__)
        except Timeout as exc:
            record(process, "info", f, value, key, type(exc).__name__)
        except Exception as exc:  # an unknown outcome, recorded as such
            record(process, "info", f, value, key, f"{type(exc).__name__}: {exc}")
        return None

    async def final_reads(self, seconds: float) -> dict[str, int | None] | None:
        """Every key read through the cluster (recorded in the history), retrying until `seconds` pass."""
        deadline = time.monotonic() + seconds
        found: dict[str, int | None] = {}
        async with self.client(timeout=2.0) as client:
            for key in self.keys:
                while key not in found and time.monotonic() < deadline:
                    before = len(self.recorder.events)
                    got = await self.one(client, "final", "read", key)
                    if self.recorder.events[-1].type == "ok" and len(self.recorder.events) == before + 2:
                        found[key] = got
                    else:
                        await asyncio.sleep(0.2)
        return found if len(found) == len(self.keys) else None
