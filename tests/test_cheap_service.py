"""Cheap Paxos in the service: `service.auxiliaries` names nodes that vote only to retire a failed main and
store no log (`impl.cheap`); a 2-main + 1-auxiliary cluster of in-process nodes loses a main and carries on."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest
from test_service_inprocess import leader_of, settled, until

from paxiom.client.cluster import aconnect
from paxiom.errors import PaxiomError
from paxiom.impl.cheap.replica import CheapReplica
from paxiom.impl.reconfig import switch_of
from paxiom.node.clusterfile import load_service_cluster, parse_service_cluster
from paxiom.node.server import Node, NodeOptions
from paxiom.node.supervisor import prepare

pytestmark = pytest.mark.timeout(90)


def test_a_cluster_file_names_its_auxiliaries_and_only_cheaps_layouts_pass(tmp_path: Path) -> None:
    text = (
        prepare(tmp_path, 3).read_text(encoding="utf-8").replace("[service]\n", '[service]\nauxiliaries = ["n3"]\n', 1)
    )
    assert parse_service_cluster(text, tmp_path / "c.toml").auxiliaries == {"n3"}
    for bad, why in (
        (["n9"], "must list nodes"),
        (["n1"], "must be the last nodes"),
        (["n2", "n3"], "fewer auxiliaries"),
    ):
        with pytest.raises(PaxiomError, match=why):
            parse_service_cluster(
                text.replace('auxiliaries = ["n3"]', f"auxiliaries = {bad!r}".replace("'", '"')), tmp_path
            )


def test_two_mains_and_an_auxiliary_lose_a_main_and_carry_on(tmp_path: Path) -> None:
    path = prepare(tmp_path, 3)
    sc = dataclasses.replace(load_service_cluster(path), metrics={}, auxiliaries=frozenset({"n3"}))

    async def scenario() -> None:
        nodes = {
            name: Node(sc, NodeOptions(config=path, node=name, data_dir=tmp_path / "data" / name)) for name in sc.nodes
        }
        try:
            for node in nodes.values():
                await node.start()
            assert all(isinstance(n.host.replica, CheapReplica) for n in nodes.values())
            await until(lambda: settled(nodes), 20, "a leader every node follows")
            leader = leader_of(nodes)
            assert leader is not None and leader.name != "n3"  # an auxiliary never leads
            async with aconnect(path, timeout=30) as client:
                await client.put("k0", b"v0")
                failed = "n2" if leader.name == "n1" else "n1"
                await nodes.pop(failed).stop()  # a main fails for good; nobody reconfigures
                for i in range(1, 6):
                    await client.put(f"k{i}", f"v{i}".encode())
                assert await client.get("k5") == b"v5"
            replica = leader.host.replica
            retired = switch_of(replica.configs.latest.entry.value) if replica.configs.latest.entry else None
            assert retired is not None and failed not in [retired.nodes[m] for m in replica.configs.latest.members]
            auxiliary = nodes["n3"].host.replica
            assert not auxiliary.learner.log and auxiliary.acceptor.votes  # no log, votes for the retirement
            assert all(switch_of(v.value) is not None for v in auxiliary.acceptor.votes.values())
        finally:
            for node in nodes.values():
                await node.stop()

    asyncio.run(asyncio.wait_for(scenario(), 80))
