"""The Prometheus endpoint serves the node's own registry."""

from __future__ import annotations

import urllib.request

from prometheus_client import CollectorRegistry, Histogram, generate_latest

from paxiom.node.clusterfile import Address
from paxiom.node.metrics import LATENCY_BUCKETS, Metrics


def test_endpoint_serves_histograms_and_counters_of_this_node_only() -> None:
    first, second = Metrics("n1"), Metrics("n2")
    first.commit_latency.observe(0.003)
    first.sync_latency.observe(0.0007)
    first.frame("peer", "out", 3)
    port = first.serve(Address("127.0.0.1", 0))
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    finally:
        first.close()
    assert 'paxiom_commit_latency_seconds_bucket{le="0.005",node="n1"} 1.0' in text
    assert 'paxiom_sync_latency_seconds_count{node="n1"} 1.0' in text
    assert 'paxiom_frames_total{direction="out",link="peer",node="n1"} 3.0' in text
    assert "n2" not in text and 'node="n2"' in second.render()


def test_the_commit_latency_tally_exposes_what_a_prometheus_histogram_would() -> None:
    metrics, registry = Metrics("n1"), CollectorRegistry()
    reference = Histogram("paxiom_commit_latency_seconds", "x", ["node"], buckets=LATENCY_BUCKETS, registry=registry)
    for seconds in (0.0001, 0.0005, 0.0007, 0.001, 0.05, 0.3, 4.0, 9.0, *(i / 997 for i in range(300))):
        metrics.commit_latency.observe(seconds)
        reference.labels("n1").observe(seconds)

    def samples(text: str) -> list[str]:
        return [line for line in text.splitlines() if line.startswith("paxiom_commit_latency_seconds_")]

    expected = [line for line in samples(generate_latest(registry).decode()) if "_created" not in line]
    assert samples(metrics.render()) == expected and len(expected) == len(LATENCY_BUCKETS) + 3
