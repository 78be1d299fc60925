"""The `paxiom` command. Verbs load lazily so that `paxiom explore` never pays for importing Z3."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Any

import click

from paxiom import __version__
from paxiom.cli.output import fail

# verb -> "module:attribute" of its click command; each verb lives in its own module.
VERBS: dict[str, str] = {
    "explore": "paxiom.cli.explore_cmd:explore",
    "conform": "paxiom.cli.conform_cmd:conform",
    "sim": "paxiom.cli.sim_cmd:sim",
    "trace": "paxiom.cli.trace_cmd:trace",
    "quorum": "paxiom.cli.quorum_cmd:quorum",
    "prove": "paxiom.cli.prove_cmd:prove",
    "tla": "paxiom.cli.tla_cmd:tla",
    "lin": "paxiom.cli.lin_cmd:lin",
    "kv": "paxiom.cli.kv_cmd:kv_group",
    "node": "paxiom.cli.node_cmd:node",
    "cluster": "paxiom.cli.cluster_cmd:cluster",
    "campaign": "paxiom.cli.campaign_cmd:campaign",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when invoked or listed."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any) -> Any:  # type: ignore[override]
        """Run as click does, except that a usage error (any click error is bad input: exit 2) is one line
        naming the problem and the verb's --help, and under --json also one JSON document, like every error
        of the verbs themselves."""
        argv = list(sys.argv[1:] if args is None else args)
        extra.pop("standalone_mode", None)
        try:
            code = super().main(argv, "paxiom", standalone_mode=False, **extra)  # also when run in-process
        except click.exceptions.NoArgsIsHelpError as exc:  # `paxiom`, `paxiom tla`: the help, as asked for
            click.echo(exc.ctx.get_help())
            sys.exit(0)
        except click.ClickException as exc:
            ctx = getattr(exc, "ctx", None)
            hint = f" (see `{ctx.command_path} --help`)" if isinstance(exc, click.UsageError) and ctx else ""
            fail(exc.format_message() + hint, as_json="--json" in argv)
        except click.exceptions.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

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
