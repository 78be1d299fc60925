"""The Z3 models and their prover. Only this package's constants are here, so that naming them (as the CLI's
options do) does not import Z3."""

DEFAULT_TIMEOUT_S = 60.0
"""Seconds Z3 may take per proof obligation unless told otherwise."""
