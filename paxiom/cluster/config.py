"""Reading a cluster file: nodes, zones, weights, quorum expressions and round-trip times.

Every mistake is a `PaxiomError` located at `file:line:col`: the operator fixes the file, not the tool.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from paxiom.cluster.expr import ClusterFamily
from paxiom.cluster.latency import LEADER_LIMIT, RoundTrips
from paxiom.cluster.parse import FUNCTIONS, Names, parse_expression
from paxiom.cluster.source import SourceIndex
from paxiom.errors import PaxiomError
from paxiom.spec.quorums import QuorumSystem

TABLES = ("nodes", "description", "zones", "weights", "quorums", "latency_ms", "addresses", "service")
"""`addresses` and `service` are the service's tables, read by `paxiom.node.clusterfile`."""
FAMILIES = ("phase1", "phase2", "fast")
RESERVED = (*FUNCTIONS, "of")


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
    text = Path(path).read_text(encoding="utf-8")
    return parse_cluster(text, str(path))


def parse_cluster(text: str, path: str = "<cluster>") -> Cluster:
    """Parse the text of a cluster file; `path` is used in error positions."""
    src = SourceIndex(path, text)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message, where = src.toml_error_where(str(exc))
        raise PaxiomError(f"not valid TOML: {message}", where=where) from None
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
            raise PaxiomError(f"'{name}' must be a table ([{name}])", where=self.at_key("", name))
        return value

    def cluster(self) -> Cluster:
        for key in self.doc:
            if key not in TABLES:
                raise PaxiomError(f"unknown key or table {key!r} (expected one of {', '.join(TABLES)})",
                                  where=self.src.where(self.src.table_offset(key) or self.src.key_offset("", key)))
        nodes = self.nodes()
        index = {name: i for i, name in enumerate(nodes)}
        weights = self.weights(index)
        zones = self.zones(index)
        names = Names(index, weights, zones)
        quorums = self.table("quorums")
        if "quorums" not in self.doc or "phase1" not in quorums:
            raise PaxiomError("the file must declare [quorums] with at least phase1 = \"...\"",
                              where=self.src.where(self.src.table_offset("quorums")))
        for key in quorums:
            if key not in FAMILIES:
                raise PaxiomError(f"unknown quorum family {key!r} (expected {', '.join(FAMILIES)})",
                                  where=self.at_key("quorums", key))
        families = {key: self.family(key, quorums[key], nodes, names) for key in FAMILIES if key in quorums}
        description = self.doc.get("description", "")
        if not isinstance(description, str):
            raise PaxiomError("description must be a string", where=self.at_key("", "description"))
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
        )

    def nodes(self) -> tuple[str, ...]:
        raw = self.doc.get("nodes")
        where = self.at_key("", "nodes")
        if raw is None:
            raise PaxiomError('the file must list its nodes: nodes = ["a1", "a2", ...]', where=self.src.where(0))
        if not isinstance(raw, list) or not raw:
            raise PaxiomError("nodes must be a non-empty list of names", where=where)
        seen: set[str] = set()
        for name in raw:
            if not isinstance(name, str):
                raise PaxiomError(f"node names must be strings, not {name!r}", where=where)
            self.check_name(name, "node", self.at_item("", "nodes", name))
            if name in seen:
                raise PaxiomError(f"node {name!r} is listed twice", where=self.at_item("", "nodes", name, 2))
            seen.add(name)
        return tuple(raw)

    def check_name(self, name: str, kind: str, where: str) -> None:
        if not name or '"' in name or "'" in name or name.strip() != name:
            raise PaxiomError(f"{kind} name {name!r} must be non-empty, without quotes or outer spaces", where=where)
        if name in RESERVED:
            raise PaxiomError(f"{name!r} is a keyword of the quorum language and cannot name a {kind}",
                              where=where)
        if name.isdigit():
            raise PaxiomError(f"{kind} name {name!r} is all digits: it would read as a threshold", where=where)

    def weights(self, index: Mapping[str, int]) -> list[int]:
        weights = [1] * len(index)
        for name, weight in self.table("weights").items():
            where = self.at_key("weights", name)
            if name not in index:
                raise PaxiomError(f"weight for unknown node {name!r}", where=where)
            if not isinstance(weight, int) or isinstance(weight, bool) or weight < 1:
                raise PaxiomError(f"the weight of {name!r} must be a positive integer, not {weight!r}", where=where)
            weights[index[name]] = weight
        return weights

    def zones(self, index: Mapping[str, int]) -> dict[str, tuple[int, ...]]:
        raw = self.table("zones")
        for zone, members in raw.items():
            where = self.at_key("zones", zone)
            self.check_name(zone, "zone", where)
            if zone in index:
                raise PaxiomError(f"zone {zone!r} has the same name as a node", where=where)
            if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
                raise PaxiomError(f"zone {zone!r} must be a list of node or zone names", where=where)
        expanded: dict[str, tuple[int, ...]] = {}

        def expand(zone: str, path: tuple[str, ...]) -> tuple[int, ...]:
            if zone in expanded:
                return expanded[zone]
            result: list[int] = []
            for member in raw[zone]:
                where = self.at_item("zones", zone, member)
                if member in path or member == zone:
                    cycle = " -> ".join((*path, zone, member)[list((*path, zone)).index(member):])
                    raise PaxiomError(f"zone {member!r} names itself ({cycle})", where=where)
                if member in raw:
                    part = expand(member, (*path, zone))
                elif member in index:
                    part = (index[member],)
                else:
                    raise PaxiomError(f"zone {zone!r} names unknown node or zone {member!r}", where=where)
                for i in part:
                    if i in result:
                        twice = list(index)[i]
                        raise PaxiomError(f"zone {zone!r} lists node {twice!r} twice",
                                          where=self.at_item("zones", zone, member, 2) if member == twice else where)
                    result.append(i)
            expanded[zone] = tuple(result)
            return expanded[zone]

        for zone in raw:
            expand(zone, ())
        return expanded

    def family(self, key: str, text: Any, nodes: tuple[str, ...], names: Names) -> ClusterFamily:
        if not isinstance(text, str):
            raise PaxiomError(f"quorums.{key} must be a string holding a quorum expression",
                              where=self.at_key("quorums", key))
        start = self.src.string_content_offset("quorums", key)
        where = self._string_locator(start)
        expr = parse_expression(text, names, where)
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
                raise PaxiomError(f"latency_ms.{src_name} must be a table like {{ b1 = 30, dc2 = 80 }}", where=where)
            for dst, ms in row.items():
                if dst not in index and dst not in zones:
                    raise PaxiomError(f"unknown node or zone {dst!r} in latency_ms.{src_name}", where=where)
                if not isinstance(ms, int | float) or isinstance(ms, bool) or ms < 0:
                    raise PaxiomError(f"round-trip time {src_name} -> {dst} must be a number >= 0, not {ms!r}",
                                      where=where)
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
