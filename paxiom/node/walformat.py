"""The on-disk format of write-ahead log segments: a fixed header, then CRC32C-checked records.

Segment header, 128 bytes, little-endian: magic `PXWL`, format version (u16), header size (u16), first LSN
(u64), cluster id and node id (48 bytes each, NUL-padded UTF-8), 12 reserved zero bytes, CRC32C (u32) of
the 124 bytes before it.

Record: CRC32C (u32) of everything after it, payload length (u32), LSN (u64), position of the record in
its sync group (u32), payload. The CRC covers the length, so a damaged length is caught like damaged data;
a length above the configured maximum is rejected before anything is read or allocated. The group position
lets recovery tell the records of one unsynced group (torn together by a power cut) from later groups that
were only written after an fdatasync returned (see `recovery.py`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

import crc32c

from paxiom.node.datadir import MAX_ID_BYTES

MAGIC: Final = b"PXWL"
VERSION: Final = 1
_HEADER = struct.Struct(f"<4sHHQ{MAX_ID_BYTES}s{MAX_ID_BYTES}s12x")
HEADER_SIZE: Final = _HEADER.size + 4
_RECORD = struct.Struct("<IIQI")
RECORD_HEADER: Final = _RECORD.size
SUFFIX: Final = ".seg"


def segment_name(first_lsn: int) -> str:
    return f"{first_lsn:020d}{SUFFIX}"


def parse_segment_name(name: str) -> int | None:
    stem = name.removesuffix(SUFFIX)
    return int(stem) if name.endswith(SUFFIX) and len(stem) == 20 and stem.isdigit() else None


@dataclass(frozen=True, slots=True)
class SegmentHeader:
    first_lsn: int
    cluster_id: str
    node_id: str

    def pack(self) -> bytes:
        body = _HEADER.pack(
            MAGIC, VERSION, HEADER_SIZE, self.first_lsn, self.cluster_id.encode(), self.node_id.encode()
        )
        return body + crc32c.crc32c(body).to_bytes(4, "little")

    @staticmethod
    def unpack(data: bytes | memoryview) -> SegmentHeader | str:
        """The header at the start of `data`, or why there is none."""
        if len(data) < HEADER_SIZE:
            return f"header incomplete ({len(data)} of {HEADER_SIZE} bytes)"
        body = bytes(data[: HEADER_SIZE - 4])
        if crc32c.crc32c(body) != int.from_bytes(data[HEADER_SIZE - 4 : HEADER_SIZE], "little"):
            return "header CRC mismatch"
        magic, version, size, first_lsn, cluster, node = _HEADER.unpack(body)
        if magic != MAGIC or version != VERSION or size != HEADER_SIZE:
            return f"unknown segment format (magic {magic!r}, version {version}, header size {size})"
        try:
            return SegmentHeader(first_lsn, cluster.rstrip(b"\0").decode(), node.rstrip(b"\0").decode())
        except UnicodeDecodeError:
            return "header ids are not UTF-8"


def encode_record(lsn: int, group_pos: int, payload: bytes) -> bytes:
    body = _RECORD.pack(0, len(payload), lsn, group_pos)[4:] + payload
    return crc32c.crc32c(body).to_bytes(4, "little") + body


@dataclass(frozen=True, slots=True)
class Record:
    lsn: int
    group_pos: int
    payload: bytes
    offset: int
    end: int

    @property
    def group_start(self) -> int:
        """The first LSN of the sync group this record was written in."""
        return self.lsn - self.group_pos


def parse_record(buf: bytes, offset: int, max_record: int) -> Record | str:
    """The record at `offset`, or why there is none. Never reads or allocates past `max_record`."""
    if len(buf) - offset < RECORD_HEADER:
        return "record header incomplete"
    crc, length, lsn, group_pos = _RECORD.unpack_from(buf, offset)
    if length > max_record:
        return f"record length {length} above the maximum {max_record}"
    end = offset + RECORD_HEADER + length
    if end > len(buf):
        return "record incomplete"
    view = memoryview(buf)[offset + 4 : end]
    if crc32c.crc32c(view) != crc:
        return "record CRC mismatch"
    if group_pos > lsn:
        return "record group position beyond its LSN"
    return Record(lsn, group_pos, bytes(view[RECORD_HEADER - 4 :]), offset, end)
