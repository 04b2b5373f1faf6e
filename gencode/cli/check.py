"""`gencode check FILE...`: report every error (exit 1) and notes; renders nothing.

`--format json` prints the same diagnostics as one JSON array on stdout, for editors and tools.
"""

from __future__ import annotations

import json
import sys

import click

from gencode.check import check_file
from gencode.cli.common import SET_OPTION, parse_sets, report
from gencode.errors import Diagnostic, GenError


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@SET_OPTION
@click.option("-q", "--quiet", is_flag=True, help="Print errors only (no notes or warnings).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one array of {file, line, column, end_line, end_column, severity, message, hint}.",
)
def check(files: tuple[str, ...], sets: tuple[str, ...], quiet: bool, fmt: str) -> None:
    """Check .gen scripts for errors without rendering."""
    overrides = parse_sets(sets)
    errors, found = 0, []
    for path in files:
        try:
            program = check_file(path, overrides)
        except GenError as e:
            diagnostics = e.errors if quiet else e.diagnostics
            if fmt == "json":
                found += [as_json(d, path) for d in diagnostics]
            else:
                report(diagnostics, e.sources)
            errors += len(e.errors)
            continue
        notes = [] if quiet else program.notes
        if fmt == "json":
            found += [as_json(d, path) for d in notes]
            continue
        report(notes, program.sources)
        n = len(program.outputs)
        click.echo(f"{path}: ok ({n} output{'s' if n != 1 else ''})")
    if fmt == "json":
        click.echo(json.dumps(found, indent=1, ensure_ascii=False))
    if errors:
        click.echo(f"{errors} error{'s' if errors != 1 else ''}", err=True)
        sys.exit(1)


def as_json(d: Diagnostic, path: str) -> dict:
    """A diagnostic as a JSON object; `hint` is the part of the message after ' — ', if any."""
    message, _, hint = d.message.partition(" — ")
    span = d.span if d.span is not None and d.span.line > 0 else None
    return {
        "file": span.file if span else path,
        "line": span.line if span else None,
        "column": span.column if span else None,
        "end_line": span.end_line if span else None,
        "end_column": span.end_column if span else None,
        "severity": d.severity,
        "message": message,
        "hint": hint or None,
    }
