"""The service's view of a cluster file: the TOML `paxiom quorum check` certifies, plus where nodes listen.

    nodes = ["n1", "n2", "n3"]
    [quorums]
    phase1 = "majority(n1, n2, n3)"
    fast = "3 of (n1, n2, n3)"  # optional: Fast Paxos (clients' commands straight to the acceptors)
    [addresses]                 # peer-to-peer, mutual TLS
    n1 = "127.0.0.1:7001"
    [service]
    cluster_id = "dev"          # recorded in every data directory
    tls_dir = "tls"             # relative to this file (`paxiom cluster init` writes it)
    tick_ms = 10                # optional tuning, see SERVICE_KEYS
    [service.clients]           # client listeners (mutual TLS), also serving status
    n1 = "127.0.0.1:7101"
    [service.metrics]           # optional Prometheus endpoints (plain HTTP)
    n1 = "127.0.0.1:9101"

The quorum part is read by `paxiom.cluster.load_cluster` (one parser, one set of error messages); this
module reads only the service's tables. `certify` runs the certifier's own decision procedure.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paxiom.cluster import Cluster, parse_cluster
from paxiom.cluster.certify import Outcome, decide
from paxiom.cluster.check import conditions
from paxiom.cluster.source import SourceIndex
from paxiom.errors import PaxiomError
from paxiom.impl.config import UnsafeQuorums
from paxiom.inputs import Source, read_source
from paxiom.spec import cheap

TUNING: dict[str, int] = {
    "tick_ms": 10,
    "election_timeout": 30,
    "heartbeat_interval": 5,
    "window": 64,
    "alpha": 64,
    "batch_size": 256,
    "snapshot_interval": 10_000,
}
"""Optional [service] integers and their defaults: the tick length and the replica's config in ticks."""
SERVICE_KEYS = ("cluster_id", "tls_dir", "clients", "metrics", "auxiliaries", *TUNING)


@dataclass(frozen=True)
class Address:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class ServiceCluster:
    cluster: Cluster
    path: Path
    cluster_id: str
    peers: Mapping[str, Address]
    clients: Mapping[str, Address]
    metrics: Mapping[str, Address]
    tls_dir: Path | None
    """Absolute; None when the file names none (only `--insecure` can run then)."""
    tuning: Mapping[str, int] = field(default_factory=lambda: dict(TUNING))
    auxiliaries: frozenset[str] = frozenset()
    """Cheap Paxos's auxiliary nodes (`service.auxiliaries`, `impl.cheap`): they vote only to retire a
    failed main and store no log; the quorums must then be cheap's configuration 0."""

    @property
    def nodes(self) -> tuple[str, ...]:
        return self.cluster.nodes

    def index(self, node: str) -> int:
        if node not in self.cluster.nodes:
            raise PaxiomError(f"node {node!r} is not in {self.path} (nodes: {', '.join(self.cluster.nodes)})")
        return self.cluster.nodes.index(node)


def parse_address(text: Any, where: str) -> Address:
    if not isinstance(text, str):
        raise PaxiomError(f'an address is a string "host:port", not {text!r}', where=where)
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise PaxiomError(f'address {text!r} is not "host:port" with a port in 0..65535', where=where)
    return Address(host, int(port))


def load_service_cluster(path: str | Path) -> ServiceCluster:
    """Read the cluster file and its service tables; every node needs a peer and a client address."""
    return parse_service_cluster(read_source(path).text, Path(path))


def parse_service_cluster(text: str, path: Path) -> ServiceCluster:
    """The same from text (`path` locates errors and anchors a relative tls_dir)."""
    cluster = parse_cluster(text, str(path))  # refuses what is not TOML, with its place
    return _service(cluster, tomllib.loads(text), path, SourceIndex(Source(str(path), text)))


def _service(cluster: Cluster, doc: dict[str, Any], path: Path, src: SourceIndex) -> ServiceCluster:
    def at(table: str, key: str) -> str:  # `key = ...` in [table], or its own [table.key]
        return src.where(src.table_offset(f"{table}.{key}".lstrip(".")) or src.key_offset(table, key))

    service = _table(doc, "service", src.where(src.table_offset("service")))
    for key in service:
        if key not in SERVICE_KEYS:
            raise PaxiomError(
                f"unknown key service.{key} (expected one of {', '.join(SERVICE_KEYS)})", where=at("service", key)
            )
    peers = _addresses(cluster, _table(doc, "addresses", at("", "addresses")), "addresses", src, required=True)
    clients = _table(service, "clients", at("service", "clients"))
    metrics = _table(service, "metrics", at("service", "metrics"))
    client_addresses = _addresses(cluster, clients, "service.clients", src, required=True)
    metric_addresses = _addresses(cluster, metrics, "service.metrics", src, required=False)
    cluster_id = service.get("cluster_id", "paxiom")
    if not isinstance(cluster_id, str) or not cluster_id:
        raise PaxiomError("service.cluster_id must be a non-empty string", where=at("service", "cluster_id"))
    tls = service.get("tls_dir")
    if tls is not None and not isinstance(tls, str):
        raise PaxiomError("service.tls_dir must be a string (a directory)", where=at("service", "tls_dir"))
    tuning = dict(TUNING)
    for key in TUNING:
        value = service.get(key, TUNING[key])
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise PaxiomError(f"service.{key} must be a positive integer, not {value!r}", where=at("service", key))
        tuning[key] = value
    tls_dir = None if tls is None else (path.parent / tls).resolve()
    auxiliaries = _auxiliaries(cluster, service.get("auxiliaries", []), at("service", "auxiliaries"))
    return ServiceCluster(
        cluster, path, cluster_id, peers, client_addresses, metric_addresses, tls_dir, tuning, auxiliaries
    )


def _auxiliaries(cluster: Cluster, names: Any, where: str) -> frozenset[str]:
    """`service.auxiliaries`: the last nodes, which with the others as mains make cheap's configuration 0."""
    if not isinstance(names, list) or not all(isinstance(n, str) and n in cluster.nodes for n in names):
        raise PaxiomError(f"service.auxiliaries must list nodes of the cluster, not {names!r}", where=where)
    if not names:
        return frozenset()
    if cluster.fast is not None:
        raise PaxiomError("service.auxiliaries: Cheap Paxos has no fast quorums (remove [quorums] fast)", where=where)
    mains = len(cluster.nodes) - len(set(names))
    if set(names) != set(cluster.nodes[mains:]):
        raise PaxiomError(
            f"service.auxiliaries must be the last nodes ({', '.join(cluster.nodes[mains:])})", where=where
        )
    try:
        cheap.Config(cluster.quorum_system, ("",), 0, mains=mains)
    except ValueError as exc:
        raise PaxiomError(f"service.auxiliaries: {exc}", where=where) from None
    return frozenset(names)


def _table(doc: Mapping[str, Any], name: str, where: str) -> dict[str, Any]:
    value = doc.get(name, {})
    if not isinstance(value, dict):
        raise PaxiomError(f"{name!r} must be a table", where=where)
    return value


def _addresses(
    cluster: Cluster, table: Mapping[str, Any], name: str, src: SourceIndex, *, required: bool
) -> dict[str, Address]:
    """The table `name` of node -> "host:port"; an error points at the node's line (the table's for one missing)."""

    parent, _, key = name.rpartition(".")

    def at(node: str) -> str:  # a line of [service.clients], or an item of an inline `clients = {...}`
        return src.where(src.inline_key_offset(parent, key, node) if parent else src.key_offset(name, node))

    whole = src.where(src.table_offset(name) or src.key_offset(parent, key))

    for node in table:
        if node not in cluster.nodes:
            raise PaxiomError(f"[{name}] names unknown node {node!r}", where=at(node))
    missing = [node for node in cluster.nodes if node not in table]
    if required and missing:
        raise PaxiomError(f"[{name}] has no address for {', '.join(missing)}", where=whole)
    found = {node: parse_address(text, f"{at(node)}: [{name}] {node}") for node, text in table.items()}
    used: dict[Address, str] = {}
    for node, address in found.items():
        if address.port and address in used:
            raise PaxiomError(f"[{name}] gives {node} and {used[address]} the same address {address}", where=at(node))
        used[address] = node
    return found


def certify(cluster: Cluster) -> None:
    """Refuse quorums the certifier finds unsafe for the protocol the file asks for — Multi-Paxos, or Fast
    Paxos when it declares `[quorums] fast` (then phase-1 x fast x fast too) — naming the violating quorums."""
    families = {name: fam.expr for name, fam in cluster.families().items()}
    verdicts = [decide(cond, families, cluster.n) for cond in conditions(cluster) if cond.needed]
    failures = [failure_text(outcome, cluster.names) for outcome in verdicts if outcome.counterexample is not None]
    if failures:
        raise UnsafeQuorums(f"refusing to start on unsafe quorums: {'; '.join(failures)}", where=cluster.path)


def failure_text(outcome: Outcome, names: Callable[[int], list[str]]) -> str:
    """A failed condition in one line: the quorums (by node name) that share no node."""
    assert outcome.counterexample is not None
    quorums = " and ".join(f"{fam} quorum {{{', '.join(names(mask))}}}" for fam, mask in outcome.counterexample.quorums)
    return f"{outcome.condition.name} fails: {quorums} share no node"


def render(
    nodes: list[str],
    peers: Mapping[str, Address],
    clients: Mapping[str, Address],
    metrics: Mapping[str, Address],
    *,
    cluster_id: str,
    tls_dir: str | None,
    tuning: Mapping[str, int] | None = None,
    fast: int | None = None,
    auxiliaries: int = 0,
) -> str:
    """The text of a cluster file with majority quorums over `nodes` (what `paxiom cluster up` writes), and
    fast quorums of `fast` nodes if given (Fast Paxos); or, with `auxiliaries`, the last that many nodes
    auxiliaries and cheap's configuration 0: quorums of as many nodes as there are mains (Cheap Paxos)."""
    quoted, listed = ", ".join(f'"{n}"' for n in nodes), ", ".join(nodes)
    mains = len(nodes) - auxiliaries
    phase1 = f"{mains} of ({listed})" if auxiliaries else f"majority({listed})"
    lines = [f"nodes = [{quoted}]", "", "[quorums]", f'phase1 = "{phase1}"']
    lines += [f'fast = "{fast} of ({listed})"'] if fast is not None else []
    lines += ["", "[addresses]"]
    lines += [f'{n} = "{peers[n]}"' for n in nodes]
    lines += ["", "[service]", f'cluster_id = "{cluster_id}"']
    lines += [f'tls_dir = "{tls_dir}"'] if tls_dir is not None else []
    if auxiliaries:
        lines += ["auxiliaries = [" + ", ".join(f'"{n}"' for n in nodes[mains:]) + "]"]
    lines += [f"{key} = {value}" for key, value in (tuning or {}).items()]
    lines += ["", "[service.clients]", *(f'{n} = "{clients[n]}"' for n in nodes)]
    if metrics:
        lines += ["", "[service.metrics]", *(f'{n} = "{metrics[n]}"' for n in nodes if n in metrics)]
    return "\n".join(lines) + "\n"
