"""The blocking client: the asyncio client driven on a private event loop, one call at a time."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

from paxiom.client.aio import AsyncClient
from paxiom.node import kvstore as kv
from paxiom.node.clusterfile import Address

T = TypeVar("T")


class Client:
    """Same operations, errors and retry rules as `AsyncClient`, for code that is not asyncio."""

    def __init__(self, addresses: Mapping[str, Address], tls: ssl.SSLContext | None, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._client = self._run(self._make(addresses, tls, options))

    @staticmethod
    async def _make(addresses: Mapping[str, Address], tls: ssl.SSLContext | None, options: Any) -> AsyncClient:
        return AsyncClient(addresses, tls, **options)  # the queue inside binds to the running loop

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self._loop.run_until_complete(coroutine)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def leader(self) -> str | None:
        return self._client.leader

    def get(self, key: str) -> bytes | None:
        return self._run(self._client.get(key))

    def put(self, key: str, value: bytes) -> None:
        self._run(self._client.put(key, value))

    def delete(self, key: str) -> bool:
        return self._run(self._client.delete(key))

    def cas(self, key: str, expected: bytes | None, new: bytes) -> kv.KVResult:
        return self._run(self._client.cas(key, expected, new))

    def list(self, prefix: str = "", limit: int = kv.MAX_LIST, start_after: str = "") -> kv.KVResult:
        return self._run(self._client.list(prefix, limit, start_after))

    def execute(self, op: bytes) -> bytes:
        return self._run(self._client.execute(op))

    def status(self, node: str) -> dict[str, object]:
        return self._run(self._client.status(node))

    def close(self) -> None:
        if not self._loop.is_closed():
            self._run(self._client.close())
            self._loop.close()
