"""Cluster files: a TOML language for quorum systems, certified with Z3 and analysed for fault tolerance.

`load_cluster(path)` reads a file into a `Cluster` whose `quorum_system` plugs into the spec; the
`certify`, `tolerance`, `latency`, `load` and `runs` modules answer `paxiom quorum check`.
"""

from paxiom.cluster.config import Cluster, load_cluster, parse_cluster

__all__ = ["Cluster", "load_cluster", "parse_cluster"]
