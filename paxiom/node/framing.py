"""Length-prefixed frames on a byte stream, with a bounded buffer.

A frame is an 8-byte header — magic `PX`, framing version, flags (must be 0), payload length (big-endian
u32) — then the payload. The header is checked as soon as its 8 bytes arrive, so an oversized or foreign
frame is refused before a byte of its body is buffered: a connection never costs more than one maximum
frame of memory. There is no checksum: peer links run over TLS, whose record MAC already detects every
change to the bytes; the codec type-checks what remains.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

MAGIC = b"PX"
VERSION = 1
HEADER = struct.Struct(">2sBBI")
HEADER_SIZE = HEADER.size
_HEADER_AT = HEADER.unpack_from
MAX_FRAME = 16 << 20
"""Default largest payload (16 MiB): room for a catch-up reply with a snapshot, far below a memory problem."""


class FrameError(Exception):
    """The stream does not carry well-formed frames; the connection must be closed."""


def encode_frame(payload: bytes, max_frame: int = MAX_FRAME) -> bytes:
    """The frame carrying `payload`; refuses a payload the receiver would refuse."""
    if len(payload) > max_frame:
        raise FrameError(f"payload of {len(payload)} bytes exceeds the maximum frame of {max_frame}")
    return HEADER.pack(MAGIC, VERSION, 0, len(payload)) + payload


def check_header(header: bytes, max_frame: int = MAX_FRAME) -> int:
    """The payload length a header announces, or FrameError naming what is wrong with it."""
    magic, version, flags, length = HEADER.unpack(header)
    assert isinstance(length, int)
    if magic != MAGIC:
        raise FrameError(f"bad magic {magic!r} (not a paxiom stream)")
    if version != VERSION:
        raise FrameError(f"unknown framing version {version}")
    if flags:
        raise FrameError(f"unknown frame flags {flags:#04x}")
    if length > max_frame:
        raise FrameError(f"frame of {length} bytes exceeds the maximum of {max_frame}")
    return length


class FrameDecoder:
    """Incremental: feed it whatever the socket returned, get back the complete payloads.

    The buffer holds at most one header plus one maximum payload plus the last chunk fed; after a
    FrameError the decoder is poisoned (the stream position is lost) and raises again on every feed.
    """

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._buffer = bytearray()
        self._need: int | None = None
        """The payload length of the frame being read, once its header is checked."""
        self._error: FrameError | None = None

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def feed(self, data: bytes) -> list[bytes]:
        """The payloads `data` completes; FrameError (and none of them) if a header in it is malformed."""
        return list(self.frames(data))

    def frames(self, data: bytes) -> Iterator[bytes]:
        """Lazily, the payloads `data` completes: those before a malformed header come out before its
        FrameError. Consume it fully before the next call.

        Frames are cut from one bytes object, each payload copied once, headers read in place: slicing a
        bytearray copied every payload twice and every header too, a good part of a small request's cost. A
        frame arriving in many chunks is only appended to until it is whole."""
        if self._error is not None:
            raise self._error
        if self._buffer:
            self._buffer += data
            if self._need is not None and len(self._buffer) < self._need:
                return
            data, self._buffer = bytes(self._buffer), bytearray()
        elif type(data) is not bytes:
            data = bytes(data)
        start, end, need = 0, len(data), self._need
        try:
            while True:
                if need is None:
                    if end - start < HEADER_SIZE:
                        return
                    magic, version, flags, need = _HEADER_AT(data, start)
                    if magic != MAGIC or version != VERSION or flags or need > self.max_frame:
                        check_header(data[start : start + HEADER_SIZE], self.max_frame)  # raises, naming why
                    start += HEADER_SIZE
                if end - start < need:
                    return
                payload = data[start : start + need]
                start += need
                need = None
                yield payload
        except FrameError as exc:
            self._error, need, start = exc, None, end
            raise
        finally:
            self._need = need
            if start < end:
                self._buffer = bytearray(data[start:])

    def at_boundary(self) -> bool:
        """True when no partial frame is buffered: an end of stream here is clean."""
        return not self._buffer and self._need is None
