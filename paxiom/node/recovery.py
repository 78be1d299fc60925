"""Reading a write-ahead log back after a crash: a torn tail is dropped, corruption is reported, never hidden.

The distinction is the one Protocol-Aware Recovery (Alagappan et al., FAST'18) argues for: a record that
was never synced was never acknowledged, so losing it is safe; a record that was synced may have been
acknowledged (a vote someone counted, a promise someone relied on), so losing it silently can break
consensus. A damaged record is judged **synced** — corruption — when anything proves it was:
- a later segment exists (a segment is only created after the previous one was synced), or
- a valid record of a later sync group follows it (a group is only written after the previous group's
  fdatasync returned; each record carries its position in its group), or
- `synced.json` lists the file as synced beyond the damaged offset, or the file is shorter than listed.
Otherwise it is a **torn tail**: the unsynced end of the last group, cut by a power loss or a kill. The
torn bytes are truncated; everything before them is returned intact.

Damage also includes LSNs that do not follow on (a gap or overlap between segments) and a segment of
another cluster or node. Damage whose every lost LSN the loaded snapshot already covers loses nothing: it
is noted (`Recovery.covered`), not reported as corruption.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from paxiom.node.walformat import HEADER_SIZE, RECORD_HEADER, Record, SegmentHeader, parse_record, parse_segment_name

_NONZERO = re.compile(rb"[^\x00]")


@dataclass(frozen=True, slots=True)
class CorruptRange:
    """Bytes `[offset, offset + length)` of `segment` could not be vouched for; LSNs from `first_lsn` on
    (through `last_lsn` where the next good record says so) are missing."""

    segment: str
    offset: int
    length: int
    first_lsn: int
    last_lsn: int | None
    reason: str

    def __str__(self) -> str:
        wide = self.last_lsn is not None and self.last_lsn > self.first_lsn
        lsns = f"LSN {self.first_lsn}" + (f"..{self.last_lsn}" if wide else "")
        return f"{self.segment} bytes {self.offset}..{self.offset + self.length}: {self.reason} ({lsns})"


@dataclass(frozen=True, slots=True)
class Recovery:
    """What was read back. `records` are `(lsn, payload)` above the base LSN, in order."""

    records: tuple[tuple[int, bytes], ...]
    next_lsn: int
    """The LSN the next record gets: past the log and past the snapshot."""
    tail_lsn: int
    """The LSN the last segment would continue with; a new segment is needed when it is not `next_lsn`."""
    torn_bytes: int = 0
    corrupt: tuple[CorruptRange, ...] = ()
    truncate: tuple[Path, int] | None = None
    """The torn tail to cut: file and the length to keep (0 with a torn header: remove the file)."""
    covered: tuple[CorruptRange, ...] = ()
    """Damage that lost only LSNs the snapshot covers: nothing acknowledged is missing."""

    @property
    def clean(self) -> bool:
        return not self.corrupt


@dataclass
class Scan:
    """One pass over the segments; `parse` and `proven_synced` are the spots a storage bug would live in."""

    base_lsn: int
    max_record: int
    cluster_id: str
    node_id: str
    claims: Mapping[str, int]
    expected: int = 0
    in_step: bool = True
    """False after damage of unknown extent: the next segment's first LSN is taken as it comes."""
    records: list[tuple[int, bytes]] = field(default_factory=list)
    corrupt: list[CorruptRange] = field(default_factory=list)
    covered: list[CorruptRange] = field(default_factory=list)
    open: CorruptRange | None = None
    """Damage running to the end of a segment: its last LSN is known once the next segment starts."""
    truncate: tuple[Path, int] | None = None
    torn_bytes: int = 0
    _hits_of: bytes | None = None
    _hits: dict[bytes, tuple[int, int]] = field(default_factory=dict)

    def bad(
        self, seg: Path, offset: int, length: int, reason: str, last_lsn: int | None = None, *, open_ended: bool = False
    ) -> None:
        damage = CorruptRange(seg.name, offset, length, self.expected, last_lsn, reason)
        if open_ended:
            self.settle(None)
            self.open = damage
        else:
            self.judge(damage)

    def judge(self, damage: CorruptRange) -> None:
        """Damage whose every lost LSN the snapshot covers loses nothing: noted, not corruption."""
        harmless = damage.last_lsn is not None and damage.last_lsn <= self.base_lsn
        (self.covered if harmless else self.corrupt).append(damage)

    def settle(self, next_first_lsn: int | None) -> None:
        """Close the open damage: with the first LSN of the segment after it, or as of unknown extent."""
        if self.open is not None:
            last = None if next_first_lsn is None else next_first_lsn - 1
            self.judge(dataclasses.replace(self.open, last_lsn=last))
            self.open = None

    def segment(self, seg: Path, buf: bytes, last: bool) -> None:
        claim = self.claims.get(f"wal/{seg.name}", 0)
        if len(buf) < claim:
            self.bad(seg, len(buf), claim - len(buf), f"file is {len(buf)} bytes, {claim} were synced")
        header = SegmentHeader.unpack(buf)
        if isinstance(header, str):
            self.bad_header(seg, buf, last, claim, header)
            return
        if (header.cluster_id, header.node_id) != (self.cluster_id, self.node_id):
            reason = f"segment of cluster {header.cluster_id!r} node {header.node_id!r}"
            self.bad(seg, 0, len(buf), reason)
            self.in_step = False
            return
        if parse_segment_name(seg.name) != header.first_lsn:
            self.bad(seg, 0, HEADER_SIZE, f"header says first LSN {header.first_lsn}")
        elif self.open is not None:
            self.settle(header.first_lsn)
        elif self.in_step and header.first_lsn != self.expected and header.first_lsn > self.base_lsn + 1:
            gap = "gap" if header.first_lsn > self.expected else "overlap"
            self.bad(seg, 0, HEADER_SIZE, f"LSN {gap}: segment starts at {header.first_lsn}", header.first_lsn - 1)
        self.expected, self.in_step = header.first_lsn, True
        self.records_of(seg, buf, last, claim)

    def bad_header(self, seg: Path, buf: bytes, last: bool, claim: int, reason: str) -> None:
        if last and claim == 0 and self.next_valid(buf, 0) is None:
            self.truncate, self.torn_bytes = (seg, 0), len(buf)
        else:
            self.bad(seg, 0, len(buf), reason, open_ended=True)
            self.in_step = False

    def records_of(self, seg: Path, buf: bytes, last: bool, claim: int) -> None:
        offset = HEADER_SIZE
        while offset < len(buf):
            record = self.parse(buf, offset)
            if not isinstance(record, str) and record.lsn != self.expected:
                record = f"LSN {record.lsn} where {self.expected} was due"
            if not isinstance(record, str):
                if record.lsn > self.base_lsn:
                    self.records.append((record.lsn, record.payload))
                self.expected += 1
                offset = record.end
                continue
            follower = self.next_valid(buf, offset + 1)
            if self.proven_synced(buf, offset, follower, last, claim):
                if follower is None:
                    self.bad(seg, offset, len(buf) - offset, record, open_ended=True)
                    self.in_step = False
                    return
                self.bad(seg, offset, follower.offset - offset, record, follower.lsn - 1)
                self.expected, offset = follower.lsn, follower.offset
                continue
            self.truncate, self.torn_bytes = (seg, offset), len(buf) - offset
            return

    def parse(self, buf: bytes, offset: int) -> Record | str:
        return parse_record(buf, offset, self.max_record)

    def proven_synced(self, buf: bytes, offset: int, follower: Record | None, last: bool, claim: int) -> bool:
        """Whether the damaged record at `offset` was synced (corruption), by the rules above."""
        return not last or offset < claim or self.later_group(buf, follower)

    def later_group(self, buf: bytes, record: Record | None) -> bool:
        """Whether a valid record of a sync group after the damaged one follows (proof it was synced)."""
        while record is not None:
            if record.group_start > self.expected:
                return True
            record = self.next_valid(buf, record.end)
        return False

    def next_valid(self, buf: bytes, start: int) -> Record | None:
        """The first valid record at or after `start` whose LSN could follow. Candidates are found with
        `bytes.find` on the top five bytes of the plausible LSNs (one or two patterns), skipping zero runs,
        so a damaged tail costs C-speed scans, not a Python loop per byte."""
        low = max(self.expected, 1)
        high = low + len(buf) // RECORD_HEADER + 1
        tops = [top.to_bytes(5, "little") for top in range(low >> 24, (high >> 24) + 1)]
        pos = start + 11
        while True:
            hits = [hit for top in tops if (hit := self.find(buf, top, pos)) >= 0]
            if not hits:
                return None
            at = min(hits) - 11
            pos = at + 12
            if not any(buf[at : at + RECORD_HEADER]):
                nonzero = _NONZERO.search(buf, at)
                pos = max(pos, (nonzero.start() if nonzero else len(buf)) - RECORD_HEADER + 12)
                continue
            record = self.parse(buf, at)
            if not isinstance(record, str) and low <= record.lsn <= high:
                return record

    def find(self, buf: bytes, top: bytes, pos: int) -> int:
        """`buf.find(top, pos)`, remembering each pattern's last answer so that a pattern with no (or a
        distant) occurrence is not searched for again on every call: resyncing stays linear."""
        if self._hits_of is not buf:
            self._hits_of, self._hits = buf, {}
        since, hit = self._hits.get(top, (len(buf) + 1, -1))
        if since > pos or 0 <= hit < pos:
            since, hit = pos, buf.find(top, pos)
            self._hits[top] = (since, hit)
        return hit


def segments(directory: Path) -> list[Path]:
    """The segment files of a log directory, in LSN order."""
    named = [(lsn, p) for p in directory.iterdir() if (lsn := parse_segment_name(p.name)) is not None]
    return [p for _, p in sorted(named)]


def recover(
    directory: Path,
    *,
    cluster_id: str,
    node_id: str,
    max_record: int,
    base_lsn: int = 0,
    claims: Mapping[str, int] | None = None,
) -> Recovery:
    """Read every segment of `directory`; `base_lsn` is what a snapshot already covers (records at or below
    it are skipped, and the log may start anywhere up to `base_lsn + 1`). Pure: changes nothing on disk."""
    scan = Scan(base_lsn, max_record, cluster_id, node_id, claims or {}, expected=base_lsn + 1)
    files = segments(directory)
    for i, seg in enumerate(files):
        scan.segment(seg, seg.read_bytes(), last=i == len(files) - 1)
        if scan.truncate is not None:
            break
    scan.settle(None)
    return Recovery(
        tuple(scan.records),
        max(scan.expected, base_lsn + 1),
        scan.expected,
        scan.torn_bytes,
        tuple(scan.corrupt),
        scan.truncate,
        tuple(scan.covered),
    )
