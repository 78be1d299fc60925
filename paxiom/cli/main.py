"""The `paxiom` command. Verbs load lazily so that `paxiom explore` never pays for importing Z3."""

from __future__ import annotations

import importlib

import click

from paxiom import __version__

# verb -> "module:attribute" of its click command; each verb lives in its own module.
VERBS: dict[str, str] = {
    "explore": "paxiom.cli.explore_cmd:explore",
    "conform": "paxiom.cli.conform_cmd:conform",
    "sim": "paxiom.cli.sim_cmd:sim",
    "quorum": "paxiom.cli.quorum_cmd:quorum",
    "prove": "paxiom.cli.prove_cmd:prove",
    "tla": "paxiom.cli.tla_cmd:tla",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when invoked or listed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(VERBS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = VERBS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="paxiom")
def main() -> None:
    """The Paxos family: specified, proven, model-checked, implemented and tested from one spec.

    Exit codes: 0 the property holds, 1 a violation or counterexample was found, 2 bad input or usage.
    """
