"""Helpers shared by the subcommands: --set parsing and printing diagnostics."""

from __future__ import annotations

import sys

import click

from gencode.errors import GenError


def parse_sets(values: tuple[str, ...]) -> dict[str, str]:
    """`--set NAME=VALUE` options → {name: raw value}."""
    out = {}
    for item in values:
        name, eq, value = item.partition("=")
        if not eq or not name.strip():
            raise click.BadParameter(f"'{item}' is not NAME=VALUE", param_hint="--set")
        out[name.strip()] = value
    return out


def report(diagnostics, sources) -> None:
    """Print diagnostics to stderr, each with its source line and caret."""
    for d in diagnostics:
        click.echo(d.format(sources), err=True)


def fail(e: GenError) -> None:
    report(e.diagnostics, e.sources)
    n = len(e.errors)
    click.echo(f"{n} error{'s' if n != 1 else ''}", err=True)
    sys.exit(1)


SET_OPTION = click.option(
    "--set", "sets", multiple=True, metavar="NAME=VALUE", help="Override a param of the script."
)
