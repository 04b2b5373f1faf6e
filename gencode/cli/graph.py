"""`gencode graph FILE`: print the compiled op graph as SSA text, JSON or DOT."""

from __future__ import annotations

import json

import click

from gencode.check import check_file
from gencode.cli.common import SET_OPTION, fail, parse_sets
from gencode.compile import compile_program
from gencode.errors import GenError


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "dot"]),
    default="text",
    show_default=True,
    help="How to print the graph.",
)
@SET_OPTION
def graph(file: str, fmt: str, sets: tuple[str, ...]) -> None:
    """Print a script's op graph: one line per node, shared nodes once."""
    try:
        g = compile_program(check_file(file, parse_sets(sets)))
    except GenError as e:
        fail(e)
        return
    if fmt == "json":
        click.echo(json.dumps(g.to_json(), indent=2, sort_keys=True))
    elif fmt == "dot":
        click.echo(g.to_dot(), nl=False)
    else:
        click.echo(g.to_text(), nl=False)
