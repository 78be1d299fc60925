"""Certificates and mutual-TLS contexts: only this cluster's CA, TLS 1.3, a certificate required both ways.

`generate` writes a cluster CA (its common name is the cluster id) and, signed by it, one certificate per
node and per client. Every leaf names its holder in a URI subject alternative name,
`paxiom://<cluster>/<role>/<name>`, which is what `check_peer` reads: an identity comes from the
certificate, never from what the other side says. Node certificates also carry DNS `<name>`, DNS
`localhost` and IP 127.0.0.1 (so a client's ordinary hostname check against the node id passes) and may
act as server and client; client certificates may only act as clients, so one can never pose as a node.

The directory holds `ca.crt`, `ca.key`, `node-<name>.crt|key`, `client-<name>.crt|key`; keys are
created 0600 and never overwritten.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import logging
import os
import re
import socket
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from paxiom.errors import PaxiomError

log = logging.getLogger("paxiom.node.tls")

NODE = "node"
CLIENT = "client"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
"""Node, client and cluster ids: safe in a URI, a DNS label position and a file name."""
VALID_DAYS = 3650


class AuthError(Exception):
    """The other side's certificate does not name who it must be."""


@dataclass(frozen=True)
class Identity:
    cluster: str
    role: str
    name: str

    @property
    def uri(self) -> str:
        return f"paxiom://{self.cluster}/{self.role}/{self.name}"

    @classmethod
    def parse(cls, uri: str) -> Identity | None:
        match = re.fullmatch(rf"paxiom://({NAME.pattern})/({NODE}|{CLIENT})/({NAME.pattern})", uri)
        return None if match is None else cls(*match.groups())


@dataclass(frozen=True)
class TlsDir:
    """Where `generate` puts each file."""

    root: Path

    @property
    def ca(self) -> Path:
        return self.root / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.root / "ca.key"

    def cert(self, role: str, name: str) -> Path:
        return self.root / f"{role}-{name}.crt"

    def key(self, role: str, name: str) -> Path:
        return self.root / f"{role}-{name}.key"

    def cluster_id(self) -> str:
        """The cluster id the CA certificate names."""
        try:
            ca = x509.load_pem_x509_certificate(self.ca.read_bytes())
        except ValueError as exc:
            raise PaxiomError(f"not a PEM certificate: {exc}", where=str(self.ca)) from None
        names = ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(names[0].value) if names else ""


def check_name(kind: str, name: str) -> str:
    if not NAME.fullmatch(name):
        raise PaxiomError(f"{kind} {name!r} must be 1-64 letters, digits, '_', '.' or '-', starting alphanumeric")
    return name


def generate(out: Path, cluster_id: str, nodes: Sequence[str], clients: Sequence[str]) -> list[Path]:
    """Write a new cluster CA and the certificates of `nodes` and `clients`; returns the files written."""
    check_name("cluster id", cluster_id)
    for kind, names in (("node", nodes), ("client", clients)):
        for name in names:
            check_name(kind, name)
        if len(set(names)) != len(names):
            raise PaxiomError(f"{kind} names repeat: {', '.join(names)}")
    tls = TlsDir(out)
    if tls.ca.exists() or tls.ca_key.exists():
        raise PaxiomError("already holds a cluster CA; remove it or choose another directory", where=str(out))
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cluster_id)])
    ca = (
        _builder(ca_name, ca_name, ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    written = [_write_key(tls.ca_key, ca_key), _write_cert(tls.ca, ca)]
    for role, names in ((NODE, nodes), (CLIENT, clients)):
        for name in names:
            key = ec.generate_private_key(ec.SECP256R1())
            cert = _leaf(Identity(cluster_id, role, name), key.public_key(), ca, ca_key)
            written += [_write_key(tls.key(role, name), key), _write_cert(tls.cert(role, name), cert)]
    return written


def _builder(subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))  # tolerate a little clock skew between machines
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
    )


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _leaf(
    who: Identity, public_key: ec.EllipticCurvePublicKey, ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey
) -> x509.Certificate:
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(who.uri)]
    purposes = [ExtendedKeyUsageOID.CLIENT_AUTH]
    if who.role == NODE:
        names += [x509.DNSName(who.name), x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        purposes.append(ExtendedKeyUsageOID.SERVER_AUTH)
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, who.name), x509.NameAttribute(NameOID.ORGANIZATION_NAME, who.cluster)]
    )
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        _builder(subject, ca.subject, public_key)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(purposes), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return path


def _write_cert(path: Path, cert: x509.Certificate) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    return path


def _context(purpose: ssl._SSLMethod, tls: TlsDir, role: str, name: str) -> ssl.SSLContext:
    """TLS 1.3 only, the cluster CA only (no system roots), our certificate, the peer's required."""
    ctx = ssl.SSLContext(purpose)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.verify_mode = ssl.CERT_REQUIRED
    try:
        ctx.load_verify_locations(cafile=str(tls.ca))
        ctx.load_cert_chain(str(tls.cert(role, name)), str(tls.key(role, name)))
    except (OSError, ssl.SSLError) as exc:
        raise PaxiomError(f"cannot load the {role} {name!r} certificate from {tls.root}: {exc}") from None
    return ctx


def server_context(tls: TlsDir, node: str) -> ssl.SSLContext:
    """For a node's listeners (peers and clients): refuses in the handshake whoever has no cluster certificate."""
    return _context(ssl.PROTOCOL_TLS_SERVER, tls, NODE, node)


def client_context(tls: TlsDir, name: str, role: str = CLIENT) -> ssl.SSLContext:
    """For dialing a node, as a client or (role "node") as a peer. Connect with `server_hostname=<node id>`:
    the handshake then checks the node's certificate names the node meant."""
    ctx = _context(ssl.PROTOCOL_TLS_CLIENT, tls, role, name)
    ctx.check_hostname = True
    return ctx


def peer_identity(peercert: dict[str, Any] | None) -> Identity | None:
    """The identity a verified certificate (`SSLObject.getpeercert()`) names, if it names exactly one."""
    uris = [value for kind, value in (peercert or {}).get("subjectAltName", ()) if kind == "URI"]
    return Identity.parse(uris[0]) if len(uris) == 1 else None


def check_peer(peercert: dict[str, Any] | None, cluster_id: str, role: str, name: str | None = None) -> Identity:
    """The verified peer's identity, or AuthError unless it is `role` (and `name`, if given) of this cluster."""
    who = peer_identity(peercert)
    if who is None:
        raise AuthError("the certificate names no paxiom identity")
    if who.cluster != cluster_id or who.role != role or (name is not None and who.name != name):
        wanted = Identity(cluster_id, role, name or "*").uri
        raise AuthError(f"the certificate names {who.uri}, not {wanted}")
    return who


@dataclass(frozen=True)
class PeerSecurity:
    """How a node's peer links authenticate: mutual TLS, or plaintext only when explicitly asked for."""

    cluster_id: str
    server: ssl.SSLContext | None
    client: ssl.SSLContext | None

    @property
    def insecure(self) -> bool:
        return self.server is None

    @classmethod
    def mutual_tls(cls, tls: TlsDir, cluster_id: str, node: str) -> PeerSecurity:
        found = tls.cluster_id()
        if found != cluster_id:
            raise PaxiomError(f"the CA is cluster {found!r}'s, not {cluster_id!r}'s", where=str(tls.ca))
        return cls(cluster_id, server_context(tls, node), client_context(tls, node, NODE))

    @classmethod
    def plaintext(cls, cluster_id: str) -> PeerSecurity:
        log.warning(
            "INSECURE: peer links are plaintext and unauthenticated (--insecure): anyone who can reach the port "
            "can read the log and pose as a node"
        )
        return cls(cluster_id, None, None)


class Incoming:
    """An accepted TCP connection that no transport reads yet. `upgrade` attaches one that already speaks TLS
    (or plaintext), so a ClientHello that arrived before the accept task ran is the TLS layer's first input.
    (Pausing a stream transport in `connection_made` is not enough: uvloop starts reading after it returns,
    and the hello would land in the stream's buffer, lost to the TLS protocol.)"""

    def __init__(self, sock: socket.socket, limit: int) -> None:
        self.reader = asyncio.StreamReader(limit=limit)
        """Fed once `upgrade` attached a transport."""
        self.writer: asyncio.StreamWriter | None = None
        """Set by a successful `upgrade`."""
        self._sock: socket.socket | None = sock
        """Until `upgrade` hands it to the loop."""
        try:
            self.peername: tuple[str, int] = sock.getpeername()[:2]
        except OSError:  # already gone
            self.peername = ("?", 0)

    async def upgrade(self, context: ssl.SSLContext | None) -> asyncio.StreamWriter:
        """Start reading into `reader`: through a TLS handshake as the server with `context`, or plaintext."""
        sock, self._sock = self._sock, None
        if sock is None:
            raise PaxiomError("the connection was already upgraded or aborted")
        loop = asyncio.get_running_loop()
        protocol = asyncio.StreamReaderProtocol(self.reader, loop=loop)
        transport, _ = await loop.connect_accepted_socket(lambda: protocol, sock, ssl=context)
        self.writer = asyncio.StreamWriter(transport, protocol, self.reader, loop)
        return self.writer

    def abort(self) -> None:
        """Close at once, upgraded or not (idempotent)."""
        if self.writer is not None:
            self.writer.transport.abort()
        elif self._sock is not None:
            self._sock.close()
            self._sock = None


Accepted = Callable[[Incoming], Awaitable[None]]


class Listener:
    """Accepts TCP connections and hands each, unread, to `accepted` in a task of its own. `close` stops
    accepting (connections already handed over stay open, as with `asyncio.Server`)."""

    def __init__(self, sock: socket.socket, accepted: Accepted, limit: int) -> None:
        self.sockets = [sock]
        self._accepted = accepted
        self._limit = limit
        self._connections: set[asyncio.Task[None]] = set()
        self._task = asyncio.get_running_loop().create_task(self._accept_loop())

    async def _accept_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                sock, _ = await loop.sock_accept(self.sockets[0])
            except OSError as exc:  # e.g. EMFILE: keep listening, as asyncio.Server does
                log.warning("accept failed: %s", exc)
                await asyncio.sleep(0.1)
                continue
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            task = loop.create_task(self._serve(Incoming(sock, self._limit)))
            self._connections.add(task)
            task.add_done_callback(self._connections.discard)

    async def _serve(self, incoming: Incoming) -> None:
        try:
            await self._accepted(incoming)
        except asyncio.CancelledError:  # a stop or the loop's end: close quietly
            incoming.abort()

    def close(self) -> None:
        self._task.cancel()
        self.sockets[0].close()

    async def wait_closed(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def listen_paused(accepted: Accepted, host: str, port: int, limit: int = 1 << 16) -> Listener:
    """Listen on `host:port`; `accepted` gets each connection unread and calls `Incoming.upgrade` on it."""
    loop = asyncio.get_running_loop()
    family, *_, address = (await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE))[0]
    sock = socket.create_server(address, family=family, backlog=128)
    sock.setblocking(False)
    return Listener(sock, accepted, limit)
