"""The write-ahead log: round trips, rotation, and recovery telling a torn tail from corruption."""

from __future__ import annotations

import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from paxiom.errors import PaxiomError
from paxiom.node.recovery import Recovery, recover
from paxiom.node.synced import SYNCED, SyncedOffsets
from paxiom.node.wal import WalConfig, WriteAheadLog
from paxiom.node.walformat import HEADER_SIZE, RECORD_HEADER, SegmentHeader, encode_record, parse_record

MAX = 1 << 16


def no_sync(fd: int) -> None:
    """Tests judge file contents, not the disk: skip the real fdatasync."""


@dataclass(frozen=True)
class Placed:
    lsn: int
    payload: bytes
    segment: Path
    offset: int
    end: int
    group: int


def open_wal(root: Path, segment_bytes: int = 1 << 20, node: str = "n1") -> WriteAheadLog:
    (root / "wal").mkdir(exist_ok=True)
    config = WalConfig(segment_bytes=segment_bytes, max_record=MAX)
    return WriteAheadLog.open(
        root / "wal", cluster_id="c1", node_id=node, config=config, synced=SyncedOffsets(root), sync=no_sync
    )


def write(root: Path, groups: list[list[bytes]], segment_bytes: int = 1 << 20, sync_last: bool = True) -> list[Placed]:
    """Write each group as one sync group (the last one left unsynced if asked), then locate every record."""
    wal = open_wal(root, segment_bytes)
    group_of: dict[int, int] = {}
    for g, group in enumerate(groups):
        first = wal.write_group(group)
        group_of.update({first + i: g for i in range(len(group))})
        if sync_last or g < len(groups) - 1:
            wal.sync()
    wal.abandon()
    placed = []
    for seg in wal.segment_paths:
        buf = seg.read_bytes()
        offset = HEADER_SIZE
        while offset < len(buf):
            record = parse_record(buf, offset, MAX)
            assert not isinstance(record, str)
            placed.append(Placed(record.lsn, record.payload, seg, offset, record.end, group_of[record.lsn]))
            offset = record.end
    return placed


def read(root: Path, claims: dict[str, int] | None = None) -> Recovery:
    return recover(root / "wal", cluster_id="c1", node_id="n1", max_record=MAX, claims=claims or {})


def damage(path: Path, offset: int, data: bytes) -> None:
    buf = bytearray(path.read_bytes())
    buf[offset : offset + len(data)] = data
    path.write_bytes(bytes(buf))


def payloads(placed: list[Placed]) -> list[tuple[int, bytes]]:
    return [(p.lsn, p.payload) for p in placed]


GROUPS = [[b"promise 1"], [b"vote 1", b"vote 2", b""], [bytes(range(256))], [b"chosen 1", b"chosen 2"], [b"last"]]


def test_round_trip_and_lsns_continue_after_reopen(tmp_path: Path) -> None:
    placed = write(tmp_path, GROUPS)
    wal = open_wal(tmp_path)
    assert wal.recovery.clean and wal.recovery.torn_bytes == 0
    assert wal.recovery.records == tuple(payloads(placed))
    assert wal.write_group([b"after"]) == len(placed) + 1
    wal.close()
    assert open_wal(tmp_path).recovery.records[-1] == (len(placed) + 1, b"after")


def test_rotation_puts_groups_in_segments_with_headers_naming_the_node(tmp_path: Path) -> None:
    placed = write(tmp_path, [[b"x" * 100] for _ in range(20)], segment_bytes=500)
    segments = sorted({p.segment for p in placed})
    assert len(segments) > 3
    for seg in segments:
        header = SegmentHeader.unpack(seg.read_bytes())
        assert header == SegmentHeader(min(p.lsn for p in placed if p.segment == seg), "c1", "n1")
    assert read(tmp_path).records == tuple(payloads(placed))


def test_compaction_deletes_only_segments_wholly_covered(tmp_path: Path) -> None:
    placed = write(tmp_path, [[b"x" * 100] for _ in range(20)], segment_bytes=500)
    wal = open_wal(tmp_path, 500)
    covered = 9
    removed = wal.compact(covered)
    assert removed > 0
    remaining = {p.segment for p in placed if p.segment.exists()}
    assert all(p.segment in remaining for p in placed if p.lsn > covered)
    assert min(p.lsn for p in placed if p.segment in remaining) <= covered + 1
    wal.close()
    after = recover(tmp_path / "wal", cluster_id="c1", node_id="n1", max_record=MAX, base_lsn=covered)
    assert after.clean and after.records == tuple(payloads([p for p in placed if p.lsn > covered]))


def test_truncation_at_every_byte_of_the_last_record_is_a_torn_tail(tmp_path: Path) -> None:
    placed = write(tmp_path, GROUPS)
    last, seg = placed[-1], placed[-1].segment
    whole = seg.read_bytes()
    for cut in range(last.offset, last.end):
        seg.write_bytes(whole[:cut])
        result = read(tmp_path)
        assert result.clean, cut
        assert result.records == tuple(payloads(placed[:-1])), cut
        assert result.torn_bytes == cut - last.offset
        assert result.truncate == ((seg, last.offset) if cut > last.offset else None)


def test_torn_tail_is_cut_on_open_and_appends_follow_on(tmp_path: Path) -> None:
    placed = write(tmp_path, GROUPS, sync_last=False)
    seg = placed[-1].segment
    seg.write_bytes(seg.read_bytes()[:-3] + b"\xde\xad")
    wal = open_wal(tmp_path)
    assert wal.recovery.torn_bytes == placed[-1].end - placed[-1].offset - 1
    assert seg.stat().st_size == placed[-1].offset
    wal.write_group([b"again"])
    wal.close()
    assert read(tmp_path).records == (*payloads(placed[:-1]), (placed[-1].lsn, b"again"))


def test_damage_inside_the_last_unsynced_group_is_torn_even_with_its_later_records_intact(tmp_path: Path) -> None:
    placed = write(tmp_path, [*GROUPS, [b"a" * 40, b"b" * 40, b"c" * 40]])
    middle = placed[-2]
    damage(middle.segment, middle.offset + RECORD_HEADER + 3, b"!")
    result = read(tmp_path)
    assert result.clean and result.records == tuple(payloads(placed[:-2]))
    assert result.torn_bytes == placed[-1].end - middle.offset


def test_a_synced_claim_turns_damage_of_the_last_record_into_corruption(tmp_path: Path) -> None:
    placed = write(tmp_path, GROUPS)
    last = placed[-1]
    claims = {f"wal/{last.segment.name}": last.end}
    damage(last.segment, last.end - 1, b"?")
    result = read(tmp_path, claims)
    assert not result.clean and result.truncate is None
    assert result.corrupt[0].first_lsn == last.lsn


def test_a_file_shorter_than_its_synced_length_is_corruption(tmp_path: Path) -> None:
    placed = write(tmp_path, GROUPS)
    seg = placed[-1].segment
    claims = SyncedOffsets.read(tmp_path)
    assert claims[f"wal/{seg.name}"] == seg.stat().st_size
    seg.write_bytes(seg.read_bytes()[: placed[-1].offset])
    result = read(tmp_path, claims)
    assert not result.clean and "were synced" in result.corrupt[0].reason


@pytest.mark.parametrize("where", ["length", "lsn", "crc", "payload"])
def test_a_bit_flip_in_the_middle_is_corruption_at_its_lsn_never_a_truncation(tmp_path: Path, where: str) -> None:
    placed = write(tmp_path, GROUPS)
    victim = placed[1]
    at = {"crc": 0, "length": 4, "lsn": 8, "payload": RECORD_HEADER}[where]
    buf = victim.segment.read_bytes()
    damage(victim.segment, victim.offset + at, bytes([buf[victim.offset + at] ^ 0x10]))
    result = read(tmp_path)
    assert result.truncate is None and result.torn_bytes == 0
    assert [(c.first_lsn, c.offset, c.last_lsn) for c in result.corrupt] == [(victim.lsn, victim.offset, victim.lsn)]
    assert result.records == tuple(payloads([p for p in placed if p is not victim]))


def test_a_zeroed_block_in_the_middle_names_the_first_lsn_it_hit(tmp_path: Path) -> None:
    placed = write(tmp_path, [[bytes([i]) * 50] for i in range(60)])
    seg = placed[0].segment
    start = 1000
    damage(seg, start, bytes(512))
    hit = [p for p in placed if p.end > start and p.offset < start + 512]
    result = read(tmp_path)
    assert result.truncate is None
    assert len(result.corrupt) == 1
    assert (result.corrupt[0].first_lsn, result.corrupt[0].last_lsn) == (hit[0].lsn, hit[-1].lsn)
    assert result.records == tuple(payloads([p for p in placed if p not in hit]))


def test_a_huge_length_prefix_is_refused_without_allocating_it(tmp_path: Path) -> None:
    placed = write(tmp_path, [[b"z" * 1000] for _ in range(50)])
    seg = placed[10].segment
    damage(seg, placed[10].offset + 4, (0xFFFFFFF0).to_bytes(4, "little"))
    tracemalloc.start()
    result = read(tmp_path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 * seg.stat().st_size
    assert [c.first_lsn for c in result.corrupt] == [placed[10].lsn]
    assert "above the maximum" in result.corrupt[0].reason


def test_damage_in_an_earlier_segment_is_corruption_even_at_its_end(tmp_path: Path) -> None:
    placed = write(tmp_path, [[b"x" * 100] for _ in range(12)], segment_bytes=500)
    first = [p for p in placed if p.segment == placed[0].segment]
    first[-1].segment.write_bytes(first[-1].segment.read_bytes()[:-1])
    result = read(tmp_path)
    assert [c.first_lsn for c in result.corrupt] == [first[-1].lsn]
    assert result.truncate is None


def test_a_missing_segment_is_a_gap(tmp_path: Path) -> None:
    placed = write(tmp_path, [[b"x" * 100] for _ in range(12)], segment_bytes=500)
    segments = sorted({p.segment for p in placed})
    segments[1].unlink()
    result = read(tmp_path)
    lost = [p.lsn for p in placed if p.segment == segments[1]]
    assert [(c.first_lsn, c.last_lsn, c.reason) for c in result.corrupt] == [
        (lost[0], lost[-1], f"LSN gap: segment starts at {lost[-1] + 1}")
    ]


def test_a_damaged_header_is_corruption_unless_it_is_the_torn_start_of_the_last_segment(tmp_path: Path) -> None:
    placed = write(tmp_path, [[b"x" * 100] for _ in range(12)], segment_bytes=500)
    segments = sorted({p.segment for p in placed})
    damage(segments[1], 20, b"\xff")
    assert [c.reason for c in read(tmp_path).corrupt] == ["header CRC mismatch"]
    damage(segments[-1], 20, b"\xff")
    assert len(read(tmp_path).corrupt) == 2
    segments[-1].write_bytes(segments[-1].read_bytes()[: HEADER_SIZE - 7])
    assert len(read(tmp_path).corrupt) == 1


def test_a_torn_new_segment_header_is_removed_on_open(tmp_path: Path) -> None:
    placed = write(tmp_path, GROUPS)
    torn = tmp_path / "wal" / f"{len(placed) + 1:020d}.seg"
    torn.write_bytes(SegmentHeader(len(placed) + 1, "c1", "n1").pack()[:70])
    wal = open_wal(tmp_path)
    assert wal.recovery.clean and wal.recovery.torn_bytes == 70 and not torn.exists()
    assert wal.write_group([b"next"]) == len(placed) + 1
    wal.close()


def test_another_nodes_segment_is_corruption(tmp_path: Path) -> None:
    write(tmp_path, GROUPS)
    other = tmp_path / "other"
    other.mkdir()
    wal = open_wal(other, node="n2")
    wal.write_group([b"theirs"])
    wal.close()
    (tmp_path / "wal" / "00000000000000000001.seg").write_bytes(
        (other / "wal" / "00000000000000000001.seg").read_bytes()
    )
    assert "node 'n2'" in read(tmp_path).corrupt[0].reason


def test_a_corrupt_log_opens_read_only(tmp_path: Path) -> None:
    placed = write(tmp_path, GROUPS)
    damage(placed[1].segment, placed[1].offset + RECORD_HEADER, b"#")
    before = placed[1].segment.read_bytes()
    wal = open_wal(tmp_path)
    assert not wal.recovery.clean and not wal.writable
    with pytest.raises(PaxiomError, match="corrupt"):
        wal.write_group([b"x"])
    assert placed[1].segment.read_bytes() == before


def test_an_oversized_record_is_refused_on_write(tmp_path: Path) -> None:
    wal = open_wal(tmp_path)
    with pytest.raises(PaxiomError, match="above the maximum"):
        wal.write_group([bytes(MAX + 1)])


def test_synced_json_lists_each_file_at_its_synced_length(tmp_path: Path) -> None:
    wal = open_wal(tmp_path, 300)
    for i in range(6):
        wal.write_group([bytes(100)])
        if i < 5:
            wal.sync()
    published = SyncedOffsets.read(tmp_path)
    for path in wal.segment_paths[:-1]:
        assert published[f"wal/{path.name}"] == path.stat().st_size
    assert published[f"wal/{wal.segment_paths[-1].name}"] == wal.segment_paths[-1].stat().st_size - 100 - RECORD_HEADER
    assert (tmp_path / SYNCED).exists()


record_groups = st.lists(st.lists(st.binary(max_size=60), min_size=1, max_size=4), min_size=2, max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(groups=record_groups, pick=st.integers(0, 1 << 30), flip=st.integers(1, 255), small=st.booleans())
def test_any_single_byte_damage_is_torn_only_in_the_last_group(
    tmp_path_factory: pytest.TempPathFactory, groups: list[list[bytes]], pick: int, flip: int, small: bool
) -> None:
    root = tmp_path_factory.mktemp("wal")
    placed = write(root, groups, segment_bytes=200 if small else 1 << 20)
    victim = placed[pick % len(placed)]
    at = victim.offset + pick % (victim.end - victim.offset)
    buf = victim.segment.read_bytes()
    damage(victim.segment, at, bytes([buf[at] ^ flip]))
    result = read(root)
    in_last_group = victim.group == len(groups) - 1 and victim.segment == placed[-1].segment
    if in_last_group:
        assert result.clean and result.records == tuple(payloads([p for p in placed if p.lsn < victim.lsn]))
        assert result.truncate == (victim.segment, victim.offset)
    else:
        assert result.truncate is None
        assert result.corrupt[0].first_lsn == victim.lsn
        assert result.records == tuple(payloads([p for p in placed if p is not victim]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(groups=record_groups, pick=st.integers(0, 1 << 30), junk=st.binary(max_size=64))
@example(groups=[[b"\x00" * 5], [b""]], pick=24, junk=b"\x00")  # the junk rebuilds the record it tore
def test_a_cut_anywhere_in_the_last_segment_plus_junk_keeps_the_whole_records(
    tmp_path_factory: pytest.TempPathFactory, groups: list[list[bytes]], pick: int, junk: bytes
) -> None:
    root = tmp_path_factory.mktemp("wal")
    placed = write(root, groups)
    seg = placed[-1].segment
    whole = seg.read_bytes()
    cut = HEADER_SIZE + pick % (len(whole) - HEADER_SIZE + 1)
    torn = whole[:cut] + junk
    seg.write_bytes(torn)
    result = read(root)
    assert result.clean
    # every record before the cut survives, and one past it only if the junk happens to rebuild its very
    # bytes (a zero byte cut off and a zero byte of junk put back): then it is whole, and kept
    intact = [p.segment != seg or torn[p.offset : p.end] == whole[p.offset : p.end] for p in placed]
    kept = placed[: intact.index(False)] if False in intact else placed
    assert result.records == tuple(payloads(kept))


def test_a_record_forged_with_a_valid_crc_but_a_wrong_lsn_is_not_accepted(tmp_path: Path) -> None:
    placed = write(tmp_path, GROUPS)
    victim = placed[2]
    forged = encode_record(victim.lsn + 7, 0, victim.payload)
    damage(victim.segment, victim.offset, forged)
    result = read(tmp_path)
    assert result.corrupt[0].first_lsn == victim.lsn and "was due" in result.corrupt[0].reason


def test_damage_the_snapshot_covers_loses_nothing_and_is_noted_not_refused(tmp_path: Path) -> None:
    placed = write(tmp_path, [[bytes([i]) * 30] for i in range(20)])
    victim = placed[4]
    damage(victim.segment, victim.offset + RECORD_HEADER, b"!")
    covering = recover(tmp_path / "wal", cluster_id="c1", node_id="n1", max_record=MAX, base_lsn=victim.lsn)
    assert covering.clean and [c.first_lsn for c in covering.covered] == [victim.lsn]
    assert covering.records == tuple(payloads([p for p in placed if p.lsn > victim.lsn]))
    short = recover(tmp_path / "wal", cluster_id="c1", node_id="n1", max_record=MAX, base_lsn=victim.lsn - 1)
    assert [c.first_lsn for c in short.corrupt] == [victim.lsn] and not short.covered


def test_damage_to_the_end_of_a_segment_is_judged_by_where_the_next_one_starts(tmp_path: Path) -> None:
    placed = write(tmp_path, [[b"x" * 100] for _ in range(12)], segment_bytes=500)
    first = [p for p in placed if p.segment == placed[0].segment]
    first[-1].segment.write_bytes(first[-1].segment.read_bytes()[:-1])
    at_end = recover(tmp_path / "wal", cluster_id="c1", node_id="n1", max_record=MAX, base_lsn=first[-1].lsn)
    assert at_end.clean and [(c.first_lsn, c.last_lsn) for c in at_end.covered] == [(first[-1].lsn,) * 2]
    assert not recover(
        tmp_path / "wal", cluster_id="c1", node_id="n1", max_record=MAX, base_lsn=first[-1].lsn - 1
    ).clean
