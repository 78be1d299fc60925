"""`paxiom cluster`: set up and run a paxiom service cluster (`init` writes its certificates)."""

from __future__ import annotations

from pathlib import Path

import click

from paxiom.cli.output import console, emit_json, json_option, user_errors
from paxiom.errors import PaxiomError
from paxiom.node.tls import CLIENT, NODE, TlsDir, generate


@click.group(help="A paxiom service cluster: certificates, a local supervisor, status.")
def cluster() -> None:
    pass


@cluster.command(
    "init",
    help="Generate a cluster CA (named by the cluster id) and, signed by it, a certificate and key for every node "
    "and client, for mutual TLS. Keys are written 0600; an existing CA is never overwritten.\n\n"
    "Nodes come from --nodes or from the cluster file (--config), which also gives the cluster id "
    "([service] cluster_id) and the default directory ([service] tls_dir).",
)
@click.option("--nodes", help="Comma-separated node ids, e.g. n1,n2,n3.")
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), help="A service cluster file (TOML).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Directory to write (created).")
@click.option("--cluster-id", help="The cluster id (default: the file's, or 'paxiom').")
@click.option("--clients", default="admin", show_default=True, help="Comma-separated client certificate names.")
@json_option
@user_errors
def init(
    nodes: str | None, config: Path | None, out: Path | None, cluster_id: str | None, clients: str, as_json: bool
) -> None:
    if (nodes is None) == (config is None):
        raise PaxiomError("give --nodes or --config, not both" if nodes else "give --nodes or --config")
    if config is not None:
        from paxiom.node.clusterfile import load_service_cluster  # the certifier's imports only when needed

        service = load_service_cluster(config)
        if cluster_id is not None and cluster_id != service.cluster_id:
            raise PaxiomError(f"--cluster-id {cluster_id!r} differs from the file's {service.cluster_id!r}")
        names, cluster_id, out = list(service.nodes), service.cluster_id, out or service.tls_dir
    else:
        names = (nodes or "").split(",")
    if out is None:
        raise PaxiomError("give --out (the cluster file names no [service] tls_dir)")
    client_names = [name for name in clients.split(",") if name] if clients else []
    cluster_id = cluster_id or "paxiom"
    generate(out, cluster_id, names, client_names)
    tls = TlsDir(out)

    def files(role: str, name: str) -> dict[str, str]:
        return {"cert": str(tls.cert(role, name)), "key": str(tls.key(role, name))}

    document = {
        "cluster_id": cluster_id,
        "dir": str(out),
        "ca": {"cert": str(tls.ca), "key": str(tls.ca_key)},
        "nodes": {name: files(NODE, name) for name in names},
        "clients": {name: files(CLIENT, name) for name in client_names},
    }
    if as_json:
        emit_json(document)
        return
    console.print(f"cluster {cluster_id}: CA {tls.ca} (keep {tls.ca_key} private)")
    for role, group in ((NODE, names), (CLIENT, client_names)):
        for name in group:
            console.print(f"  {role:<6} {name:<12} {tls.cert(role, name)}  {tls.key(role, name)}")


def _service_commands() -> None:
    """`up` and `status` live in their own module (the service engineer's), `reconfigure` in its own."""
    from paxiom.cli.cluster_up import status, up
    from paxiom.cli.reconfigure_cmd import reconfigure

    cluster.add_command(up)
    cluster.add_command(status)
    cluster.add_command(reconfigure)


_service_commands()
