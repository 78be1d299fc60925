"""Reading a cluster file: nodes, zones, weights, quorum expressions and round-trip times.

Every mistake is a `PaxiomError` located at `file:line:col`: the operator fixes the file, not the tool.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import Any

from paxiom.cluster.expr import ClusterFamily
from paxiom.cluster.latency import LEADER_LIMIT, RoundTrips
from paxiom.cluster.parse import FUNCTIONS, Names, parse_expression
from paxiom.cluster.source import SourceIndex
from paxiom.errors import PaxiomError
from paxiom.inputs import Source, check_toml_nesting, huge_number_where, read_source
from paxiom.schema import describe
from paxiom.spec.quorums import QuorumSystem

TABLES = ("nodes", "description", "zones", "weights", "quorums", "latency_ms", "addresses", "service")
"""`addresses` and `service` are the service's tables, read by `paxiom.node.clusterfile`."""
FAMILIES = ("phase1", "phase2", "fast")
RESERVED = (*FUNCTIONS, "of")
MAX_WEIGHT = 10**18
"""Largest node weight; fault tolerance and load stay bounded at any weight (see cluster.selection)."""
MAX_NAME = 200
MAX_NODES = 100_000
"""Most nodes in a file: a 100,000-node majority takes Z3 about 10 s and 1 GB to certify."""
MAX_MS = 1e9
"""Largest round-trip time (about 11 days): anything above is a typo, and NaN or infinity is refused."""
MAX_ZONE_DEPTH = 64
MAX_ZONE_ENTRIES = 10_000_000
"""Zones are expanded to node lists; a file whose expansion exceeds this many entries is refused."""


@dataclass(frozen=True)
class Cluster:
    """A parsed, validated cluster file. `quorum_system` is what the spec and the explorer take."""

    path: str
    nodes: tuple[str, ...]
    weights: tuple[int, ...]
    zones: Mapping[str, tuple[int, ...]]
    """Zone name -> node indices (nested zones expanded), in file order."""
    phase1: ClusterFamily
    phase2: ClusterFamily
    fast: ClusterFamily | None
    phase2_declared: bool
    """False when `phase2` was omitted and defaults to `phase1`."""
    round_trips: RoundTrips | None
    """Round-trip times from [latency_ms], or None without it."""
    description: str = ""
    places: Mapping[str, str] = field(default_factory=dict)
    """Where the file declares `nodes` and each `quorums.FAMILY`, as file:line:col."""

    def place(self, key: str) -> str:
        """Where `key` ("nodes", "quorums.fast", ...) is declared, for errors about the file as a whole."""
        return self.places.get(key, self.places.get(key.partition(".")[0], self.path))

    @property
    def n(self) -> int:
        return len(self.nodes)

    @cached_property
    def quorum_system(self) -> QuorumSystem:
        return QuorumSystem(self.phase1, self.phase2, self.fast, name=self.path)

    def families(self) -> dict[str, ClusterFamily]:
        """The declared families by name: phase1, phase2 and (if given) fast."""
        named = {"phase1": self.phase1, "phase2": self.phase2}
        return named | ({"fast": self.fast} if self.fast is not None else {})

    def names(self, mask: int) -> list[str]:
        return [name for i, name in enumerate(self.nodes) if mask >> i & 1]


def load_cluster(path: str | Path) -> Cluster:
    """Read and check a cluster file; raises PaxiomError (with file:line:col) on any mistake."""
    return _parse(read_source(path))


def parse_cluster(text: str, path: str = "<cluster>") -> Cluster:
    """Parse the text of a cluster file; `path` is used in error positions."""
    return _parse(Source(path, text))


def _parse(source: Source) -> Cluster:
    check_toml_nesting(source)
    src = SourceIndex(source)
    try:
        doc = tomllib.loads(source.text)
    except tomllib.TOMLDecodeError as exc:
        message, where = src.toml_error_where(str(exc))
        raise PaxiomError(f"not valid TOML: {message}", where=where) from None
    except ValueError:  # tomllib's int() of a number past Python's 4,300-digit limit
        raise PaxiomError("a number with too many digits", where=huge_number_where(source)) from None
    return _Loader(src, doc).cluster()


class _Loader:
    def __init__(self, src: SourceIndex, doc: dict[str, Any]) -> None:
        self.src = src
        self.doc = doc

    def at_key(self, table: str, key: str) -> str:
        return self.src.where(self.src.key_offset(table, key))

    def at_item(self, table: str, key: str, item: str, occurrence: int = 1) -> str:
        return self.src.where(self.src.item_offset(table, key, item, occurrence))

    def table(self, name: str) -> dict[str, Any]:
        value = self.doc.get(name, {})
        if not isinstance(value, dict):
            raise PaxiomError(
                f"'{name}' must be a table ([{name}]), not {describe(value)}", where=self.at_key("", name)
            )
        return value

    def cluster(self) -> Cluster:
        for key in self.doc:
            if key not in TABLES:
                raise PaxiomError(
                    f"unknown key or table {key!r} (expected one of {', '.join(TABLES)})",
                    where=self.src.where(self.src.table_offset(key) or self.src.key_offset("", key)),
                )
        nodes = self.nodes()
        index = {name: i for i, name in enumerate(nodes)}
        weights = self.weights(index)
        zones = self.zones(index)
        names = Names(index, weights, zones)
        quorums = self.table("quorums")
        if "quorums" not in self.doc or "phase1" not in quorums:
            raise PaxiomError(
                'the file must declare [quorums] with at least phase1 = "..."',
                where=self.src.where(self.src.table_offset("quorums")),
            )
        for key in quorums:
            if key not in FAMILIES:
                raise PaxiomError(
                    f"unknown quorum family {key!r} (expected {', '.join(FAMILIES)})", where=self.at_key("quorums", key)
                )
        families = {key: self.family(key, quorums[key], nodes, names) for key in FAMILIES if key in quorums}
        description = self.doc.get("description", "")
        if not isinstance(description, str):
            raise PaxiomError(
                f"description must be a string, not {describe(description)}", where=self.at_key("", "description")
            )
        return Cluster(
            path=self.src.path,
            nodes=nodes,
            weights=tuple(weights),
            zones=zones,
            phase1=families["phase1"],
            phase2=families.get("phase2", families["phase1"]),
            fast=families.get("fast"),
            phase2_declared="phase2" in families,
            round_trips=self.latency(index, zones),
            description=description,
            places={"nodes": self.at_key("", "nodes"), "quorums": self.src.where(self.src.table_offset("quorums"))}
            | {f"quorums.{key}": self.at_key("quorums", key) for key in families},
        )

    def nodes(self) -> tuple[str, ...]:
        raw = self.doc.get("nodes")
        if raw is None:
            raise PaxiomError('the file must list its nodes: nodes = ["a1", "a2", ...]', where=self.src.where(0))
        if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_NODES:
            raise PaxiomError(
                f"nodes must be a list of 1 to {MAX_NODES:,} names, not {describe(raw)}", where=self.at_key("", "nodes")
            )
        seen: set[str] = set()
        for i, name in enumerate(raw):
            if not isinstance(name, str):
                raise PaxiomError(
                    f"nodes[{i}] must be a name in quotes, not {describe(name)}", where=self.at_key("", "nodes")
                )
            self.check_name(name, "node", partial(self.at_item, "", "nodes", name))
            if name in seen:
                raise PaxiomError(f"node {name!r} is listed twice", where=self.at_item("", "nodes", name, 2))
            seen.add(name)
        return tuple(raw)

    def check_name(self, name: str, kind: str, where: Callable[[], str]) -> None:
        """`where` is only called on a mistake: finding an item's position costs a scan of the text."""
        if not name or '"' in name or "'" in name or name.strip() != name or len(name) > MAX_NAME:
            raise PaxiomError(
                f"{kind} name {describe(name)} must be non-empty, at most {MAX_NAME} characters, "
                "without quotes or outer spaces",
                where=where(),
            )
        if name in RESERVED:
            raise PaxiomError(f"{name!r} is a keyword of the quorum language and cannot name a {kind}", where=where())
        if name.isdigit():
            raise PaxiomError(f"{kind} name {name!r} is all digits: it would read as a threshold", where=where())

    def weights(self, index: Mapping[str, int]) -> list[int]:
        weights = [1] * len(index)
        for name, weight in self.table("weights").items():
            where = self.at_key("weights", name)
            if name not in index:
                raise PaxiomError(f"weight for unknown node {name!r}", where=where)
            if not isinstance(weight, int) or isinstance(weight, bool) or not 1 <= weight <= MAX_WEIGHT:
                raise PaxiomError(
                    f"weights.{name} must be a positive integer up to 10^{len(str(MAX_WEIGHT)) - 1}, "
                    f"not {describe(weight)}",
                    where=where,
                )
            weights[index[name]] = weight
        return weights

    def zones(self, index: Mapping[str, int]) -> dict[str, tuple[int, ...]]:
        raw = self.table("zones")
        for zone, members in raw.items():
            where = self.at_key("zones", zone)
            self.check_name(zone, "zone", partial(str, where))
            if zone in index:
                raise PaxiomError(f"zone {zone!r} has the same name as a node", where=where)
            if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
                raise PaxiomError(f"zones.{zone} must be a list of node or zone names", where=where)
        return _ZoneExpansion(self, raw, index).run()

    def family(self, key: str, text: Any, nodes: tuple[str, ...], names: Names) -> ClusterFamily:
        if not isinstance(text, str):
            raise PaxiomError(
                f"quorums.{key} must be a string holding a quorum expression, not {describe(text)}",
                where=self.at_key("quorums", key),
            )
        start = self.src.string_content_offset("quorums", key)
        where = self._string_locator(start)
        try:
            expr = parse_expression(text, names, where)
        except PaxiomError as exc:  # the parser places the mistake; the field says which family it is in
            message = str(exc).removeprefix(f"{exc.where}: ")
            raise PaxiomError(f"quorums.{key}: {message}", where=exc.where) from None
        return ClusterFamily(nodes, expr, " ".join(text.split()))

    def _string_locator(self, start: int) -> Callable[[int], str]:
        """Map an offset in a decoded string to file:line:col (escapes count as the characters they span)."""
        raw = self.src.text

        def where(offset: int) -> str:
            pos = start
            for _ in range(offset):
                pos += 2 if raw.startswith("\\", pos) else 1
            return self.src.where(min(pos, len(raw)))

        return where

    def latency(self, index: Mapping[str, int], zones: Mapping[str, tuple[int, ...]]) -> RoundTrips | None:
        raw = self.table("latency_ms")
        if not raw:
            return None
        given: dict[tuple[str, str], float] = {}
        for src_name, row in raw.items():
            where = self.at_key("latency_ms", src_name)
            if src_name not in index and src_name not in zones:
                raise PaxiomError(f"unknown node or zone {src_name!r} in [latency_ms]", where=where)
            if not isinstance(row, dict):
                raise PaxiomError(
                    f"latency_ms.{src_name} must be a table like {{ b1 = 30, dc2 = 80 }}, not {describe(row)}",
                    where=where,
                )
            for dst, ms in row.items():
                if dst not in index and dst not in zones:
                    raise PaxiomError(
                        f"unknown node or zone {dst!r} in latency_ms.{src_name}",
                        where=self.src.where(self.src.inline_key_offset("latency_ms", src_name, dst)),
                    )
                if not isinstance(ms, int | float) or isinstance(ms, bool) or not 0 <= ms <= MAX_MS:
                    raise PaxiomError(
                        f"latency_ms.{src_name}.{dst}: a round-trip time must be a number of "
                        f"milliseconds from 0 to {MAX_MS:g}, not {describe(ms)}",
                        where=self.src.where(self.src.inline_key_offset("latency_ms", src_name, dst)),
                    )
                given[src_name, dst] = given[dst, src_name] = float(ms)
        groups: list[list[str]] = [[node] for node in index]
        for zone, members in sorted(zones.items(), key=lambda z: len(z[1])):
            for i in members:
                groups[i].append(zone)
        trips = RoundTrips(tuple(index), groups, given, self.src.where(self.src.table_offset("latency_ms")))
        if len(index) <= LEADER_LIMIT:
            for i in range(len(index)):
                trips.row(i)  # a missing pair is reported now, at load time
        return trips


class _ZoneExpansion:
    """Zones expanded to node indices, without recursion: a zone is expanded after the zones it names."""

    def __init__(self, loader: _Loader, raw: Mapping[str, list[str]], index: Mapping[str, int]) -> None:
        self.loader = loader
        self.raw = raw
        self.index = index
        self.expanded: dict[str, tuple[int, ...]] = {}
        self.entries = 0

    def run(self) -> dict[str, tuple[int, ...]]:
        for root in self.raw:
            stack: list[tuple[str, int]] = [(root, 0)]  # (zone, how many of its members are dealt with)
            while stack:
                zone, done = stack[-1]
                members = self.raw[zone]
                if zone in self.expanded:
                    stack.pop()
                elif done < len(members):
                    stack[-1] = (zone, done + 1)
                    member = members[done]
                    if member in self.raw and member not in self.expanded:
                        self._descend(stack, zone, member)
                else:
                    self.expanded[zone] = self._flatten(zone)
                    stack.pop()
        return {zone: self.expanded[zone] for zone in self.raw}

    def _descend(self, stack: list[tuple[str, int]], zone: str, member: str) -> None:
        path = [z for z, _ in stack]
        if member in path:
            cycle = " -> ".join((*path, member)[path.index(member) :])
            raise PaxiomError(
                f"zone {member!r} names itself ({cycle})", where=self.loader.at_item("zones", zone, member)
            )
        if len(stack) >= MAX_ZONE_DEPTH:
            raise PaxiomError(
                f"zones nest more than {MAX_ZONE_DEPTH} deep ({path[0]} -> ... -> {member})",
                where=self.loader.at_item("zones", zone, member),
            )
        stack.append((member, 0))

    def _flatten(self, zone: str) -> tuple[int, ...]:
        result: list[int] = []
        seen: set[int] = set()
        for member in self.raw[zone]:
            if member in self.expanded:
                part = self.expanded[member]
            elif member in self.index:
                part = (self.index[member],)
            else:
                raise PaxiomError(
                    f"zone {zone!r} names unknown node or zone {member!r}",
                    where=self.loader.at_item("zones", zone, member),
                )
            for i in part:
                if i in seen:
                    twice = list(self.index)[i]
                    again = 2 if member == twice else 1
                    raise PaxiomError(
                        f"zone {zone!r} lists node {twice!r} twice",
                        where=self.loader.at_item("zones", zone, member, again),
                    )
                seen.add(i)
                result.append(i)
        self.entries += len(result)
        if self.entries > MAX_ZONE_ENTRIES:
            raise PaxiomError(
                f"the zones expand to more than {MAX_ZONE_ENTRIES:,} node entries",
                where=self.loader.at_key("zones", zone),
            )
        return tuple(result)
