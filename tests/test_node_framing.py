"""Frames: any split of a valid stream yields its payloads; anything else is a FrameError, in bounded memory."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_node_codec import any_kind

from paxiom.node.codec import DecodeError, decode, encode
from paxiom.node.framing import HEADER, HEADER_SIZE, MAGIC, VERSION, FrameDecoder, FrameError, encode_frame

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SMALL = 1024


def _split(stream: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(stream) + 1) for c in cuts})
    return [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]


def _feed_all(decoder: FrameDecoder, chunks: list[bytes]) -> list[bytes]:
    return [frame for chunk in chunks for frame in decoder.feed(chunk)]


@FUZZ
@given(st.lists(st.binary(max_size=64), max_size=8), st.lists(st.integers(0, 10_000), max_size=12))
def test_any_split_of_a_valid_stream_gives_its_payloads(payloads: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(encode_frame(p) for p in payloads)
    decoder = FrameDecoder(SMALL)
    assert _feed_all(decoder, _split(stream, cuts)) == payloads
    assert decoder.at_boundary()


@FUZZ
@given(st.lists(any_kind, min_size=1, max_size=4), st.lists(st.integers(0, 10_000), max_size=6))
def test_messages_survive_framing_and_encoding(objs: list[object], cuts: list[int]) -> None:
    stream = b"".join(encode_frame(encode(o)) for o in objs)
    assert [decode(f) for f in _feed_all(FrameDecoder(), _split(stream, cuts))] == objs


@FUZZ
@given(st.lists(st.binary(max_size=300), max_size=6))
def test_random_bytes_only_ever_raise_frame_errors(chunks: list[bytes]) -> None:
    decoder = FrameDecoder(SMALL)
    with contextlib.suppress(FrameError):
        _feed_all(decoder, chunks)
    assert decoder.buffered <= HEADER_SIZE + SMALL + 300


@FUZZ
@given(st.lists(any_kind, min_size=1, max_size=3), st.data())
def test_mutated_and_truncated_streams(objs: list[object], data: st.DataObject) -> None:
    stream = bytearray(b"".join(encode_frame(encode(o)) for o in objs))
    for _ in range(data.draw(st.integers(0, 3))):
        at = data.draw(st.integers(0, len(stream) - 1))
        stream[at] = data.draw(st.integers(0, 255))
    stream = stream[: data.draw(st.integers(0, len(stream)))]
    decoder = FrameDecoder(SMALL)
    try:
        for frame in _feed_all(decoder, _split(bytes(stream), data.draw(st.lists(st.integers(0, 10_000), max_size=4)))):
            with contextlib.suppress(DecodeError):
                decode(frame)
    except FrameError:
        pass


def test_an_oversized_header_is_refused_before_its_body_is_buffered() -> None:
    decoder = FrameDecoder(SMALL)
    with pytest.raises(FrameError, match="frame of 4294967295 bytes exceeds the maximum of 1024"):
        decoder.feed(HEADER.pack(MAGIC, VERSION, 0, 2**32 - 1) + b"x" * 100)
    assert decoder.buffered == 0
    with pytest.raises(FrameError, match="exceeds the maximum"):  # poisoned: the stream position is lost
        decoder.feed(encode_frame(b"ok"))
    assert FrameDecoder(SMALL).feed(HEADER.pack(MAGIC, VERSION, 0, SMALL) + bytes(SMALL)) == [bytes(SMALL)]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (HEADER.pack(b"GE", VERSION, 0, 0), "bad magic"),
        (HEADER.pack(MAGIC, VERSION + 1, 0, 0), "unknown framing version 2"),
        (HEADER.pack(MAGIC, VERSION, 1, 0), "unknown frame flags 0x01"),
    ],
)
def test_a_foreign_header_is_refused(header: bytes, message: str) -> None:
    with pytest.raises(FrameError, match=message):
        FrameDecoder().feed(header)


def test_a_partial_frame_is_not_a_boundary_and_the_sender_refuses_oversized_payloads() -> None:
    decoder = FrameDecoder(SMALL)
    assert decoder.feed(encode_frame(b"abc")[:-1]) == []
    assert not decoder.at_boundary()
    assert decoder.feed(b"c") == [b"abc"]
    with pytest.raises(FrameError, match="exceeds the maximum frame of 1024"):
        encode_frame(bytes(SMALL + 1), SMALL)


def test_frames_before_a_bad_header_come_out_before_its_error() -> None:
    stream = encode_frame(b"one") + encode_frame(b"two") + b"GARBAGE!"
    decoder = FrameDecoder(SMALL)
    frames = decoder.frames(stream)
    assert [next(frames), next(frames)] == [b"one", b"two"]
    with pytest.raises(FrameError, match="bad magic"):
        next(frames)
    with pytest.raises(FrameError, match="bad magic"):
        FrameDecoder(SMALL).feed(stream)  # feed is all or nothing
