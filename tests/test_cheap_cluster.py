"""Cheap Paxos as separate processes: `cluster init`/`cluster up --mains 2 --auxiliaries 1` lay the cluster out,
three `paxiom node` processes on loopback (mutual TLS, port 0 addresses) serve writes, the main that does not
lead is SIGKILLed, and the leader retires it through the auxiliary; the service carries on with no acknowledged
write lost, `paxiom lin check` and `paxiom trace check` (the Cheap oracle, from the nodes' Start records) hold.
And a cheap bug run through the service is objected to by the trace checker."""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_fast_service import MutantSupervisor, acknowledging, check_cli
from test_service_cluster import eventually, log_tails, running, summary_of

from paxiom.campaign.judge import lost_writes
from paxiom.campaign.workload import Workload
from paxiom.cli.main import main
from paxiom.client.cluster import aconnect, client_tls
from paxiom.impl import observe
from paxiom.impl.cheap.replica import RETIREMENT_CLIENT
from paxiom.impl.messages import Accept
from paxiom.impl.reconfig import switch_of
from paxiom.lin.history import pair, write_jsonl
from paxiom.node.clusterfile import load_service_cluster
from paxiom.node.supervisor import CLIENT, Supervisor, prepare

pytestmark = pytest.mark.timeout(150)

TUNING = {"tick_ms": 10, "election_timeout": 30, "heartbeat_interval": 5}
AUXILIARY = "n3"
"""The auxiliary of a 2-main cluster."""


def cheap_cluster(directory: Path, mains: int = 2, auxiliaries: int = 1) -> Path:
    return prepare(directory, mains + auxiliaries, tuning=TUNING, auxiliaries=auxiliaries)


def sent_accepts(trace: Path, dst: str) -> list[Accept]:
    """The Accepts the traces show sent to node `dst` (nodes are n1, n2, ...)."""
    index = int(dst[1:]) - 1
    found = []
    for file in sorted(trace.glob("*.jsonl")):
        for line in file.read_text().splitlines():
            record = observe.from_json(json.loads(line))
            if isinstance(record, observe.Sent) and record.envelope.dst == index:
                found += [record.envelope.msg] if isinstance(record.envelope.msg, Accept) else []
    return found


def test_cluster_init_and_up_lay_out_mains_then_auxiliaries(tmp_path: Path) -> None:
    doc = check_cli("cluster", "init", "--mains", "3", "--auxiliaries", "2", "--out", str(tmp_path / "c"))
    sc = load_service_cluster(str(doc["cluster_file"]))
    assert sc.nodes == ("n1", "n2", "n3", "n4", "n5") and sc.auxiliaries == {"n4", "n5"}, sc
    assert doc["auxiliaries"] == ["n4", "n5"] and Path(doc["nodes"]["n5"]["cert"]).exists()  # type: ignore[index]
    phase1 = sc.cluster.quorum_system.phase1
    assert {len(phase1.names(q)) for q in phase1.minimal_quorums} == {3}  # any 3 of the 5: cheap's configuration 0
    for args, out, message in (
        (["--mains", "2", "--auxiliaries", "2"], "d", "more mains than auxiliaries"),
        (["--auxiliaries", "1"], "d", "--auxiliaries needs --mains"),
        (["--mains", "2", "--nodes", "a,b"], "d", "not both"),
        (["--mains", "3", "--auxiliaries", "2"], "c", "already holds a cluster file"),
    ):
        result = CliRunner().invoke(main, ["cluster", "init", *args, "--out", str(tmp_path / out), "--json"])
        assert result.exit_code == 2 and re.search(message, json.loads(result.stdout)["error"]), result.output
    assert not (tmp_path / "d").exists()  # refused before anything was written
    result = CliRunner().invoke(
        main, ["cluster", "up", "-n", "4", "--mains", "2", "--auxiliaries", "1", "--dir", str(tmp_path / "u")]
    )
    assert result.exit_code == 2 and "-n 4 is not --mains 2 + --auxiliaries 1" in result.output, result.output


async def lose_a_main(cluster: Supervisor, failed: str, workload: Workload) -> dict[str, int | None] | None:
    """Writes go on while main `failed` is SIGKILLed for good; the final reads (None if they failed)."""
    task = asyncio.ensure_future(workload.run())
    await asyncio.sleep(1.0)
    os.killpg(cluster.processes[failed].popen.pid, signal.SIGKILL)
    cluster.processes[failed].popen.wait(5)
    cluster.reap()  # its Crash record goes into its trace
    killed_at = workload.recorder.now()
    await asyncio.sleep(3.0)
    await acknowledging(workload, 10, killed_at, cluster)  # after the kill: the failed main was retired
    workload.stopping.set()
    await asyncio.wait_for(task, 20)
    return await workload.final_reads(10)


@pytest.mark.parametrize(
    ("mains", "auxiliaries"), [(2, 1), pytest.param(3, 2, marks=pytest.mark.slow)], ids=["2+1", "3+2"]
)
def test_mains_and_auxiliaries_lose_a_main_and_carry_on(tmp_path: Path, mains: int, auxiliaries: int) -> None:
    """With 3 mains, the main that does not lead and survives may have voted commands the failed one never
    will: the leader retiring it frees those slots (`CheapProposer.freed`) and the service carries on."""
    trace = tmp_path / "trace"
    supervisor = Supervisor(cheap_cluster(tmp_path / "cluster", mains, auxiliaries), trace_dir=trace, restart=False)
    for cluster in running(supervisor):
        sc = cluster.sc
        leader = summary_of(cluster)["leader"]
        assert leader in sc.nodes and leader not in sc.auxiliaries, leader  # an auxiliary never leads
        workload = Workload(dict(sc.clients), client_tls(sc, CLIENT), random.Random(13), workers=4, keys=3, timeout=6)
        failed = next(m for m in sc.nodes if m not in sc.auxiliaries and m != leader)
        final = asyncio.run(lose_a_main(cluster, failed, workload))
        assert final is not None, log_tails(cluster)
        status = summary_of(cluster)
        assert status["leader"] == leader, status
        for auxiliary in sc.auxiliaries:  # no log, a smaller WAL
            assert status["nodes"][auxiliary]["commit_index"] == 0, status
            assert status["nodes"][auxiliary]["wal_bytes"] < status["nodes"][leader]["wal_bytes"], status
        cluster.stop()

    to_auxiliaries = [a for auxiliary in sc.auxiliaries for a in sent_accepts(trace, auxiliary)]
    assert to_auxiliaries and all(switch_of(a.value) is not None for a in to_auxiliaries)  # retirements only
    assert any(RETIREMENT_CLIENT in a.value[0].client for a in to_auxiliaries)  # the leader's own, unasked
    events = workload.recorder.events
    assert final is not None and not lost_writes(pair(events), final)
    history = tmp_path / "history.jsonl"
    write_jsonl(events, history)
    lin = check_cli("lin", "check", str(history), "--model", "cas-register")
    assert lin["verdict"] == "ok" and lin["linearizable"] is True, lin
    verdict = check_cli("trace", "check", str(trace))
    assert verdict["holds"] is True and verdict["spec"] == "cheap" and verdict["spec_actions_matched"], verdict


def test_the_trace_checker_objects_to_an_auxiliary_voting_commands_run_through_the_service(tmp_path: Path) -> None:
    """An auxiliary that votes for ordinary commands is safe (the Z3 model allows it) but no longer Cheap Paxos:
    only `spec/cheap.py`'s may_vote objects, which the trace checker runs because the Start records name n3."""
    trace = tmp_path / "trace"
    supervisor = MutantSupervisor(cheap_cluster(tmp_path / "cluster"), "cheap-aux-votes-commands", trace_dir=trace)

    async def puts(path: Path) -> None:
        async with aconnect(path, timeout=20) as client:
            for i in range(3):
                await client.put(f"m{i}", b"v")

    for cluster in running(supervisor):
        asyncio.run(puts(cluster.path))
        eventually(lambda: sent_accepts(trace, AUXILIARY), 5, "an ordinary Accept to the auxiliary")
        cluster.stop()
    result = CliRunner().invoke(main, ["trace", "check", str(trace), "--json"])
    doc = json.loads(result.stdout)
    assert result.exit_code == 1 and doc["holds"] is False, doc
    assert "auxiliaries" in json.dumps(doc) and doc["file"].endswith(".jsonl"), doc
