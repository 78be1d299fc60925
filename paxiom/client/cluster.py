"""Clients built from a cluster file: the nodes' client addresses and this cluster's client certificate."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from paxiom.client.aio import AsyncClient
from paxiom.client.sync import Client
from paxiom.errors import PaxiomError
from paxiom.node.clusterfile import ServiceCluster, load_service_cluster
from paxiom.node.tls import CLIENT, TlsDir, client_context


def client_tls(sc: ServiceCluster, name: str | None = None, *, insecure: bool = False) -> ssl.SSLContext | None:
    """The mutual-TLS context of client `name` (default: the only client certificate in the tls dir)."""
    if insecure:
        return None
    if sc.tls_dir is None:
        raise PaxiomError("the cluster file names no service.tls_dir (plaintext needs --insecure)", where=str(sc.path))
    tls = TlsDir(sc.tls_dir)
    if name is None:
        found = sorted(p.name[len(CLIENT) + 1 : -4] for p in sc.tls_dir.glob(f"{CLIENT}-*.crt"))
        if len(found) != 1:
            listed = ", ".join(found) or "none"
            raise PaxiomError(f"choose a client certificate with --client (found: {listed})", where=str(sc.tls_dir))
        name = found[0]
    return client_context(tls, name)


def connect(path: str | Path, *, client: str | None = None, insecure: bool = False, **options: Any) -> Client:
    """A blocking client of the cluster `path` describes (options as for `AsyncClient`)."""
    sc = load_service_cluster(path)
    options.setdefault("fast", sc.cluster.fast is not None)
    return Client(sc.clients, client_tls(sc, client, insecure=insecure), **options)


def aconnect(path: str | Path, *, client: str | None = None, insecure: bool = False, **options: Any) -> AsyncClient:
    """An asyncio client of the cluster `path` describes; create it inside the running loop."""
    sc = load_service_cluster(path)
    options.setdefault("fast", sc.cluster.fast is not None)  # a Fast Paxos cluster: its clients' fast path
    return AsyncClient(sc.clients, client_tls(sc, client, insecure=insecure), **options)
