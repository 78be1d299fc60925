"""Client frames: requests and responses on a client connection, encoded by the node codec.

A connection carries any number of requests; `id` (chosen by the client, unique per connection) pairs a
response with its request. A command request carries the session identity `(client, seq)` that makes a
retry recognisable, and an opaque application `op` (for the shipped KV store, `paxiom.node.kvstore`'s
`*_op` functions). Responses:

* `ok` — applied (and synced on a quorum); `result` is the application's result;
* `not_leader` — `leader` names the node believed to lead (None when unknown); retry there;
* `unavailable` — the node cannot serve now (no leader elected, storage refusing); retry later;
* `stale` / `expired` — the session refused the seq (see `paxiom.node.sessions`); not retryable;
* `error` — the request was malformed or refused; `message` says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from paxiom.node import codec

OK = "ok"
NOT_LEADER = "not_leader"
UNAVAILABLE = "unavailable"
IN_DOUBT = "in_doubt"
"""The node took the request, then could not see it through (it stopped leading, is stopping, or the command was
not applied within its wait): the command may still be applied. Unlike `not_leader` and `unavailable`, which
a node answers only when nothing was submitted, it leaves the outcome unknown."""
STALE = "stale"
EXPIRED = "expired"
ERROR = "error"
MAX_MESSAGE = 1024
"""Characters of a response's message; a longer one (an exception's text, say) is cut to fit."""
MAX_REQUEST_OP = (2 << 20) - 1024
"""Bytes of a request's op: it fits the node's 2 MiB client frame, so an op too large for a command (1 MiB, or
the node's batch bound) still reaches the node and is refused with a reason rather than dropping the link."""


@dataclass(frozen=True, slots=True)
class ClientRequest:
    id: int
    client: str
    seq: int
    op: bytes


@dataclass(frozen=True, slots=True)
class ProposeRequest(ClientRequest):
    """A command sent straight to every acceptor of a Fast Paxos cluster (its fast path): a node votes it at the
    open fast ballot and answers as for a `ClientRequest`, or answers `not_leader` when it neither voted it
    nor leads (nothing submitted)."""


@dataclass(frozen=True, slots=True)
class StatusRequest:
    id: int


@dataclass(frozen=True, slots=True)
class ClientResponse:
    id: int
    status: str
    result: bytes = b""
    leader: str | None = None
    message: str = ""

    def __post_init__(self) -> None:
        # here rather than at each construction: an answer whose message its codec would refuse is never built
        if len(self.message) > MAX_MESSAGE:
            object.__setattr__(self, "message", self.message[: MAX_MESSAGE - 1] + "…")


@dataclass(frozen=True, slots=True)
class StatusResponse:
    id: int
    document: bytes
    """The node's status as a JSON object (see `paxiom.node.server` for its keys)."""


REQUESTS: frozenset[type] = frozenset((ClientRequest, ProposeRequest, StatusRequest))
RESPONSES: frozenset[type] = frozenset((ClientResponse, StatusResponse))
Request = ClientRequest | StatusRequest
Response = ClientResponse | StatusResponse

for tag, command in ((64, ClientRequest), (68, ProposeRequest)):
    codec.register(
        tag,
        command,
        {
            (command, "client"): codec.Text(1, 256),
            (command, "seq"): codec.Int(1),
            (command, "op"): codec.Blob(MAX_REQUEST_OP),
        },
    )
codec.register(65, StatusRequest)
codec.register(
    66,
    ClientResponse,
    {(ClientResponse, "status"): codec.Text(1, 16), (ClientResponse, "message"): codec.Text(0, MAX_MESSAGE)},
)
codec.register(67, StatusResponse, {(StatusResponse, "document"): codec.Blob(1 << 20)})


def encode(frame: Request | Response) -> bytes:
    return codec.encode(frame)


_OK_TAG = codec.tag_of(ClientResponse)
_RESULT = cast(codec.Blob, codec.rule(ClientResponse, "result", bytes))
_CLIENT = cast(codec.Text, codec.rule(ClientRequest, "client", str))
_SEQ = cast(codec.Int, codec.rule(ClientRequest, "seq", int))
_OP = cast(codec.Blob, codec.rule(ClientRequest, "op", bytes))


def encode_command(rid: int, client: str, seq: int, op: bytes, *, direct: bool = False) -> bytes:
    """`encode(ClientRequest(rid, client, seq, op))` (a `ProposeRequest` if `direct`) without building the
    request: a client sends one per command."""
    kind = ProposeRequest if direct else ClientRequest
    if not (
        type(rid) is int
        and 0 <= rid <= codec.I64_MAX
        and type(client) is str
        and _CLIENT.lo <= len(client) <= _CLIENT.hi
        and type(seq) is int
        and _SEQ.lo <= seq <= _SEQ.hi
        and type(op) is bytes
        and len(op) <= _OP.hi
    ):
        return encode(kind(rid, client, seq, op))  # refused there, with the reason
    return codec.pack(codec.tag_of(kind), [rid, client, seq, op])


def encode_ok(rid: int, result: bytes) -> bytes:
    """`encode(ClientResponse(rid, OK, result))` without building the response: nearly every answer is one."""
    if type(rid) is not int or not 0 <= rid <= codec.I64_MAX or len(result) > _RESULT.hi:
        return encode(ClientResponse(rid, OK, result))  # refused there, with the reason
    return codec.pack(_OK_TAG, [rid, OK, result, None, ""])


def decode_request(data: bytes) -> Request:
    """Raises `codec.DecodeError` on anything but a well-formed request."""
    frame = codec.decode(data, REQUESTS)
    assert isinstance(frame, ClientRequest | StatusRequest)
    return frame


def decode_response(data: bytes) -> Response:
    frame = codec.decode(data, RESPONSES)
    assert isinstance(frame, ClientResponse | StatusResponse)
    return frame
