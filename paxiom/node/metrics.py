"""A node's Prometheus metrics, in a registry of its own (several nodes can share a test process).

Latencies are histograms in seconds: `commit` is a client request's time from arrival at the leader to
its answer (applied, synced on a quorum), `sync` one group-commit fdatasync as storage reported it.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, start_http_server
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector

from paxiom.node.clusterfile import Address

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


class Tally(Collector):
    """A latency histogram observed once per client request: bucket counts kept by `observe` with a bisect and
    two additions (a Prometheus `Histogram` takes a lock and walks its buckets: a good part of an answer's cost),
    turned into the same exposition when scraped."""

    def __init__(self, name: str, documentation: str, node: str, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.name, self.documentation, self.node = name, documentation, node
        self.bounds = buckets
        self.counts = [0] * (len(buckets) + 1)
        """Observations per bucket (not cumulative); the last is above every bound."""
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, seconds)] += 1
        self.sum += seconds

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=["node"])
        counts, running, buckets = list(self.counts), 0, []
        for bound, count in zip((*self.bounds, math.inf), counts, strict=True):
            running += count
            buckets.append(("+Inf" if bound == math.inf else repr(bound), running))
        family.add_metric([self.node], buckets, self.sum)
        yield family


class Metrics:
    def __init__(self, node: str) -> None:
        self.registry = r = CollectorRegistry()
        self.node = node
        self.commit_latency = Tally("paxiom_commit_latency_seconds", "Client request to answer, at the leader", node)
        r.register(self.commit_latency)
        self.sync_latency = Histogram(
            "paxiom_sync_latency_seconds", "One group-commit fdatasync", ["node"], buckets=LATENCY_BUCKETS, registry=r
        ).labels(node)
        self.elections = Counter("paxiom_elections", "Elections this node stood in", ["node"], registry=r).labels(node)
        self.leader_changes = Counter(
            "paxiom_leader_changes", "Times this node's view of the leader changed", ["node"], registry=r
        ).labels(node)
        self.wal_bytes = Gauge("paxiom_wal_bytes", "Bytes of write-ahead log on disk", ["node"], registry=r).labels(
            node
        )
        self.commit_index = Gauge(
            "paxiom_commit_index", "Slots committed here (a count: the first slot not committed)", ["node"], registry=r
        ).labels(node)
        self.is_leader = Gauge("paxiom_is_leader", "1 while this node leads", ["node"], registry=r).labels(node)
        self.frames = Counter("paxiom_frames", "Frames sent and received", ["node", "link", "direction"], registry=r)
        self.requests = Counter("paxiom_client_requests", "Client requests by answer", ["node", "status"], registry=r)
        self._server: WSGIServer | None = None
        self._children: dict[tuple[str, str], Counter] = {}

    def frame(self, link: str, direction: str, count: int = 1) -> None:
        child = self._children.get((link, direction))
        if child is None:  # labels() costs a lock and a dict build: once per label set, not per frame
            child = self._children[link, direction] = self.frames.labels(self.node, link, direction)
        child.inc(count)

    def answered(self, status: str, count: int = 1) -> None:
        child = self._children.get(("status", status))
        if child is None:
            child = self._children["status", status] = self.requests.labels(self.node, status)
        child.inc(count)

    def serve(self, address: Address) -> int:
        """Start the HTTP endpoint (a daemon thread of prometheus-client); returns the bound port."""
        self._server, _ = start_http_server(address.port, address.host, self.registry)
        return int(self._server.server_port)

    def render(self) -> str:
        return generate_latest(self.registry).decode()

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
