"""`paxiom cluster`: set up and run a paxiom service cluster (`init` writes its certificates)."""

from __future__ import annotations

from pathlib import Path

import click

from paxiom.cli.output import console, emit_json, json_option, user_errors
from paxiom.errors import PaxiomError


@click.group(help="A paxiom service cluster: certificates, a local supervisor, status.")
def cluster() -> None:
    pass


@cluster.command(
    "init",
    help="Generate a cluster CA (named by the cluster id) and, signed by it, a certificate and key for every node "
    "and client, for mutual TLS. Keys are written 0600; an existing CA is never overwritten.\n\n"
    "Nodes come from --nodes or from the cluster file (--config), which also gives the cluster id "
    "([service] cluster_id) and the default directory ([service] tls_dir). With --mains (and --auxiliaries) "
    "--out is a local cluster's directory instead, as `paxiom cluster up --dir` lays it out: nodes n1.. on "
    "loopback ports from the OS, the last ones Cheap Paxos auxiliaries, its cluster file and tls/ in it.",
)
@click.option("--nodes", help="Comma-separated node ids, e.g. n1,n2,n3.")
@click.option("--mains", type=click.IntRange(2, 8), help="A local Cheap Paxos cluster of this many mains (see above).")
@click.option(
    "--auxiliaries",
    type=click.IntRange(0, 4),
    default=0,
    show_default=True,
    help="With --mains: this many auxiliaries after the mains, voting only to retire a failed main.",
)
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), help="A service cluster file (TOML).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Directory to write (created).")
@click.option("--cluster-id", help="The cluster id (default: the file's, or 'paxiom').")
@click.option("--clients", default="admin", show_default=True, help="Comma-separated client certificate names.")
@json_option
@user_errors
def init(
    nodes: str | None,
    mains: int | None,
    auxiliaries: int,
    config: Path | None,
    out: Path | None,
    cluster_id: str | None,
    clients: str,
    as_json: bool,
) -> None:
    from paxiom.node.tls import CLIENT, NODE, TlsDir, generate  # cryptography and asyncio: only when run

    if auxiliaries and mains is None:
        raise PaxiomError("--auxiliaries needs --mains")
    given = [option for option, value in (("--nodes", nodes), ("--config", config), ("--mains", mains)) if value]
    if len(given) != 1:
        raise PaxiomError(
            "give --nodes or --config, not both (or --mains alone)"
            if given
            else "give --nodes or --config (or --mains)"
        )
    client_names = [name for name in clients.split(",") if name] if clients else []
    cluster_file: Path | None = None
    if mains is not None:
        if out is None:
            raise PaxiomError("give --out (the directory the local cluster is laid out in)")
        from paxiom.node.supervisor import CLUSTER_FILE, prepare

        if (out / CLUSTER_FILE).exists():
            raise PaxiomError("already holds a cluster file; `paxiom cluster up --dir` runs it", where=str(out))
        cluster_file = prepare(
            out,
            mains + auxiliaries,
            cluster_id=cluster_id or "paxiom",
            auxiliaries=auxiliaries,
            client_names=tuple(client_names),
        )
        config, out = cluster_file, None  # the certificates are in its tls/
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
    cluster_id = cluster_id or "paxiom"
    if cluster_file is None:
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
        **(
            {"cluster_file": str(cluster_file), "auxiliaries": names[len(names) - auxiliaries :]}
            if cluster_file
            else {}
        ),
    }
    if as_json:
        emit_json(document)
        return
    console.print(f"cluster {cluster_id}: CA {tls.ca} (keep {tls.ca_key} private)")
    for role, group in ((NODE, names), (CLIENT, client_names)):
        for name in group:
            console.print(f"  {role:<6} {name:<12} {tls.cert(role, name)}  {tls.key(role, name)}")
    if cluster_file is not None:
        console.print(
            f"cluster file {cluster_file} (auxiliaries: {', '.join(document['auxiliaries']) or 'none'}); "
            f"run it with: paxiom cluster up --dir {out.parent}"
        )


def _service_commands() -> None:
    """`up` and `status` live in their own module (the service engineer's), `reconfigure` in its own."""
    from paxiom.cli.cluster_up import status, up
    from paxiom.cli.reconfigure_cmd import reconfigure

    cluster.add_command(up)
    cluster.add_command(status)
    cluster.add_command(reconfigure)


_service_commands()
