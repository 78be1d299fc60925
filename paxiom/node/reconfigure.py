"""Reconfiguring a running service: the certified change a client proposes, the check a node makes before
it proposes one, the file a joining node starts from, and the addresses a switch brings.

`paxiom cluster reconfigure --cluster OLD --to NEW` certifies OLD -> NEW with `paxiom.cluster.transition`
(Z3; the smallest counterexample and exit 1 if unsafe), then submits one configuration command
(`impl.reconfig`): NEW's quorums numbered over the nodes the cluster has ever had (OLD's, then NEW's new
ones), and a service part holding NEW's file text and every node's peer and client address. Chosen in slot
i, it governs from slot i + α; each node connects to the nodes it adds as it learns the switch.

The node refuses an uncertified change by re-certifying it on receipt (`refusal`): it decides the
transition from *its own* current configuration to the file the command carries, with the same Z3 check,
and requires the command's quorums to be exactly that file's over its node numbering. Why not verify a
certificate digest instead: a digest proves nothing anyone could not recompute, so it would need a signing
key, one more secret for every operator to guard; the check is a few milliseconds of the Z3 procedure the
node already runs at start (`clusterfile.certify`); and starting from the node's own configuration also
refuses a change certified against a stale cluster file.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from paxiom.cluster import Cluster
from paxiom.cluster.transition import Transition, check_transition, load_transition, transition_of
from paxiom.errors import PaxiomError
from paxiom.impl.reconfig import CONFIG_OP, decode_config, encode_config
from paxiom.node.clusterfile import (
    Address,
    ServiceCluster,
    failure_text,
    load_service_cluster,
    parse_address,
    parse_service_cluster,
)


def change_op(transition: Transition, new: ServiceCluster) -> bytes:
    """The configuration command's op for a certified transition to `new`, naming its auxiliaries (Cheap
    Paxos's `service.auxiliaries`, which the leader then asks to vote only for configuration commands)."""
    service = {
        "cluster": new.path.read_text(encoding="utf-8"),
        "peers": {name: str(address) for name, address in new.peers.items()},
        "clients": {name: str(address) for name, address in new.clients.items()},
    }
    auxiliaries = frozenset(transition.nodes.index(name) for name in new.auxiliaries)
    return CONFIG_OP + encode_config(transition.system("new"), service, auxiliaries)


def submit(old_path: Path, transition: Transition, new: ServiceCluster, **connection: Any) -> str:
    """Propose a certified change through the running cluster `old_path` describes (`connection`: as for
    `paxiom.client.cluster.connect`); "" once chosen, else why not (refused by a node, or no answer)."""
    from paxiom.client import ClientError, Rejected  # the client's imports only where a change is proposed
    from paxiom.client.cluster import connect

    try:
        with connect(old_path, **connection) as client:
            client.execute(change_op(transition, new))
    except Rejected as exc:
        return f"refused by the cluster: {exc}"
    except ClientError as exc:
        return f"not chosen: {exc}"
    return ""


def propose(old_path: Path, new_path: Path, **connection: Any) -> str:
    """Certify OLD -> NEW, then `submit` it: "" once chosen, else why not (unsafe, refused, no answer)."""
    transition = load_transition(str(old_path), str(new_path))
    failed = check_transition(transition).failed
    if failed is not None:
        return f"unsafe: {failure_text(failed, transition.names)}"
    return submit(old_path, transition, load_service_cluster(new_path), **connection)


def refusal(
    op: bytes, current: Cluster, universe: tuple[str, ...], auxiliaries: frozenset[str] = frozenset()
) -> str | None:
    """Why a node must not propose configuration command `op`, given its configuration in force, every
    node the cluster has had, in index order, and the nodes that have been auxiliaries (Cheap Paxos); None
    when it is certified. The file it carries must load as a service file (so its auxiliaries are a layout Cheap Paxos
    has), and name the command's auxiliaries; an auxiliary may not become a main, since it holds no log."""
    if not op.startswith(CONFIG_OP):
        return "not a configuration command"
    proposed = decode_config(op[len(CONFIG_OP) :])
    try:
        doc = json.loads(op[len(CONFIG_OP) :])
    except ValueError:
        doc = {}
    service = doc.get("service") if isinstance(doc, dict) else None
    if proposed is None or not isinstance(service, dict) or not isinstance(service.get("cluster"), str):
        return "a configuration command must carry its configuration and the cluster file it was certified from"
    try:
        file = parse_service_cluster(service["cluster"], Path("<proposed cluster file>"))
        new = file.cluster
        transition = transition_of(current, new, universe)
        report = check_transition(transition)
    except PaxiomError as exc:
        return f"its cluster file does not load: {exc}"
    failed = report.failed
    if failed is not None:
        return f"the transition is unsafe: {failure_text(failed, transition.names)}"
    if encode_config(proposed) != encode_config(transition.system("new")):
        return "its quorums are not those of the cluster file it carries, numbered as this cluster numbers its nodes"
    named = doc.get("auxiliaries", [])
    if not isinstance(named, list) or not all(isinstance(n, str) for n in named) or set(named) != file.auxiliaries:
        return "its auxiliaries are not those of the cluster file it carries (service.auxiliaries)"
    promoted = sorted(auxiliaries & (set(new.nodes) - file.auxiliaries))
    if promoted:
        return f"it makes the auxiliary {', '.join(promoted)} a main, and an auxiliary holds no log to decide with"
    return None


def addresses(service: Mapping[str, Any], table: str) -> dict[str, Address]:
    """The `peers` or `clients` addresses a configuration command's service part names."""
    found = service.get(table, {})
    if not isinstance(found, dict):
        return {}
    return {name: parse_address(text, f"configuration command: {table}.{name}") for name, text in found.items()}


def joining_text(old_path: Path, transition: Transition, new: ServiceCluster) -> str:
    """A cluster file for the nodes `transition` adds: OLD's quorums (the configuration the log starts in:
    give the file the cluster was created with as OLD), over every node, with every node's addresses."""
    doc = tomllib.loads(old_path.read_text(encoding="utf-8"))
    doc["nodes"] = list(transition.nodes)
    doc["description"] = f"joining {old_path.name}'s cluster ({', '.join(transition.nodes)})"
    doc.setdefault("addresses", {}).update({n: str(a) for n, a in new.peers.items()})
    service = doc.setdefault("service", {})
    service.setdefault("clients", {}).update({n: str(a) for n, a in new.clients.items()})
    if new.metrics:
        service.setdefault("metrics", {}).update({n: str(a) for n, a in new.metrics.items()})
    if "tls_dir" in service and new.tls_dir is not None:
        service["tls_dir"] = str(new.tls_dir)
    return _toml(doc)


def _toml(doc: Mapping[str, Any], prefix: str = "") -> str:
    """TOML for a cluster file's shape: scalars and lists of scalars, then (sub)tables."""
    lines = [f"{key} = {json.dumps(value)}" for key, value in doc.items() if not isinstance(value, dict)]
    for key, value in doc.items():
        if isinstance(value, dict):
            name = f"{prefix}{key}"
            lines += ["", f"[{name}]", _toml(value, f"{name}.").rstrip("\n")]
    return "\n".join(line for line in lines) + "\n"
