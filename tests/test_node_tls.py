"""Cluster certificates and mutual-TLS contexts, over real sockets on 127.0.0.1, and `paxiom cluster init`."""

from __future__ import annotations

import asyncio
import json
import ssl
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509

from paxiom.cli.main import main
from paxiom.errors import PaxiomError
from paxiom.node.tls import (
    CLIENT,
    NODE,
    AuthError,
    Identity,
    PeerSecurity,
    TlsDir,
    check_peer,
    client_context,
    generate,
    server_context,
)

NODES = ("n1", "n2", "n3")


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsDir:
    root = tmp_path_factory.mktemp("tls")
    generate(root, "test", NODES, ("admin",))
    return TlsDir(root)


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> TlsDir:
    """Another cluster's CA with the same node names: its certificates must be worthless here."""
    root = tmp_path_factory.mktemp("foreign")
    generate(root, "test", NODES, ("admin",))
    return TlsDir(root)


def test_files_keys_private_and_names_in_the_certificates(tls: TlsDir) -> None:
    assert tls.cluster_id() == "test"
    keys = [tls.ca_key, *(tls.key(NODE, n) for n in NODES), tls.key(CLIENT, "admin")]
    assert all(stat.S_IMODE(k.stat().st_mode) == 0o600 for k in keys)
    cert = x509.load_pem_x509_certificate(tls.cert(NODE, "n2").read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["n2", "localhost"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == ["paxiom://test/node/n2"]
    client = x509.load_pem_x509_certificate(tls.cert(CLIENT, "admin").read_bytes())
    client_san = client.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert client_san.get_values_for_type(x509.DNSName) == []  # a client certificate cannot pass as a node


def test_generation_refuses_to_overwrite_and_bad_names(tls: TlsDir, tmp_path: Path) -> None:
    with pytest.raises(PaxiomError, match="already holds a cluster CA"):
        generate(tls.root, "test", NODES, ())
    with pytest.raises(PaxiomError, match="node 'a/b' must be"):
        generate(tmp_path / "x", "test", ("a/b",), ())
    with pytest.raises(PaxiomError, match="node names repeat"):
        generate(tmp_path / "y", "test", ("n1", "n1"), ())
    with pytest.raises(PaxiomError, match="not 'other'"):
        PeerSecurity.mutual_tls(tls, "other", "n1")


def test_check_peer_reads_the_identity_from_the_certificate() -> None:
    cert = {"subjectAltName": (("DNS", "n2"), ("URI", "paxiom://test/node/n2"))}
    assert check_peer(cert, "test", NODE) == Identity("test", NODE, "n2")
    assert check_peer(cert, "test", NODE, "n2").name == "n2"
    for cluster, role, name in (("prod", NODE, None), ("test", CLIENT, None), ("test", NODE, "n3")):
        with pytest.raises(AuthError, match="names paxiom://test/node/n2, not"):
            check_peer(cert, cluster, role, name)
    with pytest.raises(AuthError, match="names no paxiom identity"):
        check_peer({"subjectAltName": (("DNS", "n2"),)}, "test", NODE)
    with pytest.raises(AuthError, match="names no paxiom identity"):
        check_peer(None, "test", NODE)


async def _handshake(server: ssl.SSLContext, client: ssl.SSLContext, hostname: str) -> tuple[str, object]:
    """Connect `client` to a server on port 0; returns ("ok", server-side peer identity) or ("refused", why)."""
    seen: asyncio.Queue[object] = asyncio.Queue()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await writer.start_tls(server)
            await seen.put(check_peer(writer.get_extra_info("peercert"), "test", NODE))
            writer.write(b"ok")
            await writer.drain()
        except (ssl.SSLError, OSError, AuthError) as exc:
            await seen.put(exc)
        finally:
            writer.transport.abort()

    listener = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", port, ssl=client, server_hostname=hostname), 5
            )
        except ssl.SSLError as exc:
            return "refused", exc
        try:
            got = await asyncio.wait_for(reader.read(2), 5)
        except (ssl.SSLError, OSError) as exc:
            got = repr(exc).encode()
        writer.transport.abort()
        server_saw = await asyncio.wait_for(seen.get(), 5)
        return ("ok", server_saw) if got == b"ok" else ("refused", server_saw)
    finally:
        listener.close()
        await listener.wait_closed()


def test_mutual_tls_between_nodes_names_the_dialer(tls: TlsDir) -> None:
    outcome, who = asyncio.run(_handshake(server_context(tls, "n1"), client_context(tls, "n2", NODE), "n1"))
    assert (outcome, who) == ("ok", Identity("test", NODE, "n2"))


def test_a_node_dialed_under_another_name_is_refused_by_the_dialer(tls: TlsDir) -> None:
    outcome, why = asyncio.run(_handshake(server_context(tls, "n2"), client_context(tls, "n1", NODE), "n3"))
    assert outcome == "refused"
    assert isinstance(why, ssl.SSLCertVerificationError)
    assert "Hostname mismatch" in str(why)


def test_another_clusters_certificate_and_no_certificate_are_refused_in_the_handshake(
    tls: TlsDir, foreign: TlsDir
) -> None:
    outcome, why = asyncio.run(_handshake(server_context(tls, "n1"), _trusting(tls, foreign), "n1"))
    assert outcome == "refused" and isinstance(why, ssl.SSLError)
    assert "certificate verify failed" in str(why)
    outcome, why = asyncio.run(_handshake(server_context(tls, "n1"), _trusting(tls, None), "n1"))
    assert outcome == "refused" and isinstance(why, ssl.SSLError)
    assert "peer did not return a certificate" in str(why)
    # and a node does not trust a server of another CA either
    outcome, why = asyncio.run(_handshake(server_context(foreign, "n1"), client_context(tls, "n2", NODE), "n1"))
    assert outcome == "refused" and isinstance(why, ssl.SSLCertVerificationError)


def test_a_client_certificate_cannot_serve_as_a_node(tls: TlsDir) -> None:
    impostor = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    impostor.load_cert_chain(tls.cert(CLIENT, "admin"), tls.key(CLIENT, "admin"))
    outcome, why = asyncio.run(_handshake(impostor, client_context(tls, "n1", NODE), "admin"))
    assert outcome == "refused" and isinstance(why, ssl.SSLCertVerificationError)


def _trusting(tls: TlsDir, cert_from: TlsDir | None) -> ssl.SSLContext:
    """A client that trusts the cluster CA but presents a certificate of `cert_from` (or none)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(tls.ca)
    if cert_from is not None:
        ctx.load_cert_chain(cert_from.cert(NODE, "n2"), cert_from.key(NODE, "n2"))
    return ctx


def test_contexts_insist_on_tls_13_and_the_cluster_ca_only(tls: TlsDir) -> None:
    for ctx in (server_context(tls, "n1"), client_context(tls, "admin")):
        assert ctx.minimum_version == ssl.TLSVersion.TLSv1_3
        assert ctx.verify_mode == ssl.CERT_REQUIRED
        assert [c["subject"] for c in ctx.get_ca_certs()] == [((("commonName", "test"),),)]
    with pytest.raises(PaxiomError, match="cannot load the node 'n9' certificate"):
        server_context(tls, "n9")


# ---- paxiom cluster init


def test_cluster_init_from_nodes(tmp_path: Path) -> None:
    out = tmp_path / "certs"
    result = CliRunner().invoke(
        main, ["cluster", "init", "--nodes", "a,b", "--clients", "c1,c2", "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["cluster_id"] == "paxiom"
    assert sorted(doc["nodes"]) == ["a", "b"] and sorted(doc["clients"]) == ["c1", "c2"]
    assert Path(doc["nodes"]["a"]["key"]).stat().st_mode & 0o077 == 0
    assert TlsDir(out).cluster_id() == "paxiom"
    again = CliRunner().invoke(main, ["cluster", "init", "--nodes", "a,b", "--out", str(out)])
    assert again.exit_code == 2
    assert "already holds a cluster CA" in again.output and "Traceback" not in again.output


def test_cluster_init_from_a_cluster_file(tmp_path: Path) -> None:
    config = tmp_path / "cluster.toml"
    config.write_text(
        'nodes = ["n1", "n2", "n3"]\n[quorums]\nphase1 = "majority(n1, n2, n3)"\n'
        '[addresses]\nn1 = "127.0.0.1:7001"\nn2 = "127.0.0.1:7002"\nn3 = "127.0.0.1:7003"\n'
        '[service]\ncluster_id = "dev"\ntls_dir = "tls"\n'
        '[service.clients]\nn1 = "127.0.0.1:7101"\nn2 = "127.0.0.1:7102"\nn3 = "127.0.0.1:7103"\n'
    )
    result = CliRunner().invoke(main, ["cluster", "init", "--config", str(config)])
    assert result.exit_code == 0, result.output
    tls = TlsDir(tmp_path / "tls")
    assert tls.cluster_id() == "dev"
    assert all(tls.cert(NODE, n).exists() for n in NODES)
    assert PeerSecurity.mutual_tls(tls, "dev", "n3").server is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give --nodes or --config"),
        (["--nodes", "a", "--config", "x.toml"], "give --nodes or --config, not both"),
        (["--nodes", "a,,b", "--out", "o"], "node '' must be"),
        (["--nodes", "a"], "--out"),
    ],
)
def test_cluster_init_bad_input_is_one_line_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["cluster", "init", *args, "--json"])
    assert result.exit_code == 2
    assert message in json.loads(result.stdout)["error"]
