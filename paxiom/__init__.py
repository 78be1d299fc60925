"""paxiom: the Paxos family specified, proven, model-checked, implemented and tested from one spec."""

__version__ = "0.1.0"
