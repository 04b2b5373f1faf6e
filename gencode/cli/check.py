"""`gencode check FILE...`: report every error (exit 1) and notes; renders nothing."""

from __future__ import annotations

import sys

import click

from gencode.check import check_file
from gencode.cli.common import SET_OPTION, parse_sets, report
from gencode.errors import GenError


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@SET_OPTION
@click.option("-q", "--quiet", is_flag=True, help="Print errors only (no notes or warnings).")
def check(files: tuple[str, ...], sets: tuple[str, ...], quiet: bool) -> None:
    """Check .gen scripts for errors without rendering."""
    overrides = parse_sets(sets)
    errors = 0
    for path in files:
        try:
            program = check_file(path, overrides)
        except GenError as e:
            report(e.diagnostics if not quiet else e.errors, e.sources)
            errors += len(e.errors)
            continue
        if not quiet:
            report(program.notes, program.sources)
        click.echo(
            f"{path}: ok ({len(program.outputs)} output{'s' if len(program.outputs) != 1 else ''})"
        )
    if errors:
        click.echo(f"{errors} error{'s' if errors != 1 else ''}", err=True)
        sys.exit(1)
