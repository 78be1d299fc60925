"""`paxiom cluster status` of a Cheap Paxos cluster: an auxiliary holds no log, so it is reported as an
auxiliary with no lag (it used to show the leader's whole commit index as its lag)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path

import pytest
from test_service_inprocess import leader_of, until

from paxiom.client.cluster import aconnect
from paxiom.node.clusterfile import load_service_cluster
from paxiom.node.server import Node, NodeOptions
from paxiom.node.supervisor import prepare, wait_ready

pytestmark = pytest.mark.timeout(90)


def test_an_auxiliary_is_reported_as_one_with_no_lag(tmp_path: Path) -> None:
    path = prepare(tmp_path, 3)
    sc = dataclasses.replace(load_service_cluster(path), metrics={}, auxiliaries=frozenset({"n3"}))

    async def scenario() -> None:
        nodes = [Node(sc, NodeOptions(config=path, node=name, data_dir=tmp_path / name)) for name in sc.nodes]
        try:
            for node in nodes:
                await node.start()
            await until(lambda: leader_of({n.name: n for n in nodes}) is not None, 20, "a leader")
            async with aconnect(path, timeout=30) as client:
                await client.put("k", b"v")
            summary = await wait_ready(sc, time.monotonic() + 20)
            shown = summary["nodes"]
            assert summary["commit_index"] > 0 and shown["n3"]["commit_index"] == 0
            assert shown["n3"]["auxiliary"] is True and shown["n3"]["lag"] is None, shown["n3"]
            assert shown[summary["leader"]] == {**shown[summary["leader"]], "auxiliary": False, "lag": 0}
        finally:
            for node in nodes:
                await node.stop()

    asyncio.run(asyncio.wait_for(scenario(), 80))
