"""Deterministic simulation of a cluster of replica cores: seeded network faults, crashes, time."""
