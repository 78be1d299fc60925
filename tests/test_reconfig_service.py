"""The service's side of reconfiguration, in process: the command a certified change proposes, the node's
re-certification on receipt, and the file a joining node starts from."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from paxiom.cli.main import main
from paxiom.cluster.transition import load_transition
from paxiom.impl.reconfig import CONFIG_OP, Configurations, service_of, switch_of
from paxiom.impl.values import Command
from paxiom.node.clusterfile import Address, load_service_cluster, render
from paxiom.node.reconfigure import addresses, change_op, joining_text, refusal

NODES = ["n1", "n2", "n3"]


def cluster_file(path: Path, nodes: list[str], phase: str | None = None) -> Path:
    ports = {n: 7000 + int(n[1:]) for n in ("n1", "n2", "n3", "n4")}
    peers = {n: Address("127.0.0.1", ports[n]) for n in nodes}
    clients = {n: Address("127.0.0.1", ports[n] + 100) for n in nodes}
    text = render(nodes, peers, clients, {}, cluster_id="t", tls_dir=None)
    if phase is not None:
        text = text.replace(f'phase1 = "majority({", ".join(nodes)})"', phase)
    path.write_text(text, encoding="utf-8")
    return path


UNSAFE = 'phase1 = "2 of (n2, n3, n4)"\nphase2 = "1 of (n2, n3, n4)"'
"""|Q1| + |Q2| = 2 + 1 is not above 3."""


def test_a_certified_change_passes_the_nodes_check_and_a_forged_one_does_not(tmp_path: Path) -> None:
    old_path = cluster_file(tmp_path / "old.toml", NODES)
    new_path = cluster_file(tmp_path / "new.toml", ["n2", "n3", "n4"])
    old, new = load_service_cluster(old_path), load_service_cluster(new_path)
    transition = load_transition(str(old_path), str(new_path))
    op = change_op(transition, new)
    value = (Command("admin", 1, op),)
    assert switch_of(value) is not None and refusal(op, old.cluster, tuple(NODES)) is None
    assert Configurations(old.cluster.quorum_system, 4).latest.quorums.n == 3
    service = service_of(value)
    assert service is not None and addresses(service, "peers")["n4"] == Address("127.0.0.1", 7004)
    unsafe = cluster_file(tmp_path / "u.toml", ["n2", "n3", "n4"], UNSAFE)
    doc = json.loads(op[len(CONFIG_OP) :])
    doc["service"]["cluster"] = unsafe.read_text()
    why = refusal(CONFIG_OP + json.dumps(doc).encode(), old.cluster, tuple(NODES))
    assert why is not None and why.startswith("the transition is unsafe") and "share no node" in why
    doc = json.loads(op[len(CONFIG_OP) :])
    doc["phase2"] = [["n4"]]  # quorums other than the file's
    why = refusal(CONFIG_OP + json.dumps(doc).encode(), old.cluster, tuple(NODES))
    assert why is not None and "not those of the cluster file" in why
    bare = CONFIG_OP + json.dumps({k: doc[k] for k in ("nodes", "phase1", "phase2")}).encode()
    assert "must carry" in (refusal(bare, old.cluster, tuple(NODES)) or "")


def test_the_joining_file_starts_from_the_old_quorums_over_every_node(tmp_path: Path) -> None:
    old_path = cluster_file(tmp_path / "old.toml", NODES)
    new_path = cluster_file(tmp_path / "new.toml", ["n2", "n3", "n4"])
    transition = load_transition(str(old_path), str(new_path))
    joining = tmp_path / "j.toml"
    joining.write_text(joining_text(old_path, transition, load_service_cluster(new_path)))
    sc = load_service_cluster(joining)
    assert sc.nodes == ("n1", "n2", "n3", "n4") and sc.peers["n4"] == Address("127.0.0.1", 7004)
    assert sc.cluster.quorum_system.phase1.is_quorum(0b0011) and not sc.cluster.quorum_system.phase1.is_quorum(0b1100)


def test_the_cli_refuses_an_unsafe_change_before_proposing_it(tmp_path: Path) -> None:
    old_path = cluster_file(tmp_path / "old.toml", NODES)
    unsafe = cluster_file(tmp_path / "u.toml", ["n2", "n3", "n4"], UNSAFE)
    result = CliRunner().invoke(
        main, ["cluster", "reconfigure", "--cluster", str(old_path), "--to", str(unsafe), "--json"]
    )
    assert result.exit_code == 1, result.output
    doc = json.loads(result.output)
    assert doc["proposed"] is False and doc["certified"]["safe"] is False and doc["certified"]["trace"]
    other = tmp_path / "other.toml"
    other.write_text(unsafe.read_text().replace('cluster_id = "t"', 'cluster_id = "x"'))
    bad = CliRunner().invoke(main, ["cluster", "reconfigure", "--cluster", str(old_path), "--to", str(other)])
    assert bad.exit_code == 2 and "cluster_id" in bad.output
