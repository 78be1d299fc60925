"""`paxiom cluster reconfigure` with Cheap Paxos files: the command names the new file's auxiliaries, and the
node re-certifying it refuses one whose auxiliaries are not the file's, a layout Cheap Paxos has no
configuration for, or an auxiliary made a main (it never learned the log)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from paxiom.cli.main import main
from paxiom.cluster.transition import load_transition
from paxiom.impl.reconfig import CONFIG_OP, auxiliaries_of, switch_of
from paxiom.impl.values import Command
from paxiom.node.clusterfile import Address, load_service_cluster, render
from paxiom.node.reconfigure import change_op, refusal

OLD = ("n1", "n2", "n3")


def cheap_file(path: Path, nodes: tuple[str, ...], auxiliaries: int, phase1: str | None = None) -> Path:
    peers = {n: Address("127.0.0.1", 7000 + int(n[1:])) for n in nodes}
    clients = {n: Address("127.0.0.1", 7100 + int(n[1:])) for n in nodes}
    text = render(list(nodes), peers, clients, {}, cluster_id="t", tls_dir=None, auxiliaries=auxiliaries)
    if phase1 is not None:
        text = text.replace(text.split("\n")[3], f'phase1 = "{phase1}"')
    path.write_text(text, encoding="utf-8")
    return path


def proposal(tmp_path: Path, new_path: Path) -> bytes:
    old_path = cheap_file(tmp_path / "old.toml", OLD, 1)
    return change_op(load_transition(str(old_path), str(new_path)), load_service_cluster(new_path))


def test_a_change_to_a_cheap_file_carries_its_auxiliaries_and_is_certified(tmp_path: Path) -> None:
    new_path = cheap_file(tmp_path / "new.toml", ("n1", "n2", "n4", "n3", "n5"), 2)  # mains n1 n2 n4
    op = proposal(tmp_path, new_path)
    value = (Command("admin", 1, op),)
    qs = switch_of(value)
    assert qs is not None and sorted(qs.nodes[a] for a in auxiliaries_of(value)) == ["n3", "n5"]
    old = load_service_cluster(tmp_path / "old.toml")
    assert refusal(op, old.cluster, OLD, frozenset({"n3"})) is None
    doc = json.loads(op[len(CONFIG_OP) :])
    doc["auxiliaries"] = ["n5"]  # fewer than its file names: n3 would be asked to vote commands
    why = refusal(CONFIG_OP + json.dumps(doc).encode(), old.cluster, OLD, frozenset({"n3"}))
    assert why is not None and "auxiliaries are not those of the cluster file" in why
    result = CliRunner().invoke(main, ["quorum", "check", "--transition", str(tmp_path / "old.toml"), str(new_path)])
    assert result.exit_code == 0, result.output  # the existing certifier decides the quorums


def test_an_auxiliary_made_a_main_is_refused(tmp_path: Path) -> None:
    new_path = cheap_file(tmp_path / "new.toml", ("n1", "n2", "n3", "n4"), 1)  # mains n1 n2 n3
    op = proposal(tmp_path, new_path)
    old = load_service_cluster(tmp_path / "old.toml")
    why = refusal(op, old.cluster, OLD, frozenset({"n3"}))
    assert why is not None and "makes the auxiliary n3 a main" in why
    assert refusal(op, old.cluster, OLD) is None  # had n3 never been an auxiliary, it would hold the log


def test_a_layout_cheap_paxos_has_no_configuration_for_is_refused(tmp_path: Path) -> None:
    good = cheap_file(tmp_path / "new.toml", ("n1", "n2", "n4", "n3", "n5"), 2)
    op = proposal(tmp_path, good)
    doc = json.loads(op[len(CONFIG_OP) :])
    bad = cheap_file(tmp_path / "bad.toml", ("n1", "n2", "n4", "n6", "n3"), 1, "majority(n1, n2, n4, n6, n3)")
    doc["service"]["cluster"] = bad.read_text()  # 4 mains and 1 auxiliary need quorums of 4, not a majority
    old = load_service_cluster(tmp_path / "old.toml")
    why = refusal(CONFIG_OP + json.dumps(doc).encode(), old.cluster, OLD, frozenset({"n3"}))
    assert why is not None and "does not load" in why and "service.auxiliaries" in why, why
