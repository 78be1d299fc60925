"""The service's cluster file: addresses and tuning on top of the certified quorum file."""

from __future__ import annotations

from pathlib import Path

import pytest

from paxiom.errors import PaxiomError
from paxiom.impl.config import UnsafeQuorums
from paxiom.node.clusterfile import Address, certify, load_service_cluster, render

NODES = ["n1", "n2", "n3"]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cluster.toml"
    path.write_text(text)
    return path


def rendered(**tuning: int) -> str:
    peers = {n: Address("127.0.0.1", 7000 + i) for i, n in enumerate(NODES)}
    clients = {n: Address("127.0.0.1", 7100 + i) for i, n in enumerate(NODES)}
    return render(NODES, peers, clients, {"n1": Address("::1", 9100)}, cluster_id="c1", tls_dir="tls", tuning=tuning)


def test_render_round_trips_and_certifies(tmp_path: Path) -> None:
    sc = load_service_cluster(write(tmp_path, rendered(tick_ms=5)))
    assert sc.nodes == tuple(NODES) and sc.cluster_id == "c1"
    assert sc.peers["n2"] == Address("127.0.0.1", 7001) and str(sc.metrics["n1"]) == "[::1]:9100"
    assert sc.tls_dir == (tmp_path / "tls").resolve()
    assert sc.tuning["tick_ms"] == 5 and sc.tuning["window"] == 64
    assert sc.index("n3") == 2
    certify(sc.cluster)


@pytest.mark.parametrize(
    ("edit", "message", "line_of"),
    [
        (lambda t: t.replace('n3 = "127.0.0.1:7002"\n', "", 1), "no address for n3", "[addresses]"),
        (lambda t: t.replace("127.0.0.1:7101", "127.0.0.1:7100"), "the same address", '"127.0.0.1:7100"'),
        (lambda t: t.replace("127.0.0.1:7001", "nowhere"), 'not "host:port"', '"nowhere"'),
        (lambda t: t.replace("tick_ms = 5", "tick_ms = 0"), "service.tick_ms", "tick_ms = 0"),
        (lambda t: t.replace("tick_ms = 5", "tick = 5"), "unknown key service.tick", "tick = 5"),
        (lambda t: t + '\n[service.nope]\nn1 = "x"\n', "unknown key service.nope", "[service.nope]"),
        (lambda t: t.replace("tick_ms = 5", 'tick_ms = 5\nauxiliaries = ["zz"]'), "auxiliaries", "auxiliaries ="),
    ],
)
def test_mistakes_are_named_at_their_line(tmp_path: Path, edit: object, message: str, line_of: str) -> None:
    assert callable(edit)
    text = edit(rendered(tick_ms=5))
    path = write(tmp_path, text)
    lines = [i for i, line in enumerate(text.splitlines(), 1) if line_of in line]
    with pytest.raises(PaxiomError, match=message) as refused:
        load_service_cluster(path)
    assert str(refused.value).startswith(f"{path}:{lines[-1]}:"), (str(refused.value), lines)


def test_unsafe_quorums_are_refused_with_the_certifiers_verdict(tmp_path: Path) -> None:
    text = rendered().replace(
        'phase1 = "majority(n1, n2, n3)"', 'phase1 = "1 of (n1, n2, n3)"\nphase2 = "2 of (n1, n2, n3)"'
    )
    sc = load_service_cluster(write(tmp_path, text))
    with pytest.raises(
        UnsafeQuorums, match=r"phase1 x phase2 fails: phase1 quorum \{n1\} and phase2 quorum \{n2, n3\}"
    ):
        certify(sc.cluster)
