"""`gencode fmt FILE...`: rewrite scripts in canonical layout; `--check` for CI, `-` for stdin."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gencode.cli.common import report
from gencode.errors import GenError
from gencode.format import format_text


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(allow_dash=True))
@click.option("--check", is_flag=True, help="Change nothing; exit 1 if a file would change.")
def fmt(paths: tuple[str, ...], check: bool) -> None:
    """Format .gen scripts (folders: every .gen file in them). '-' reads stdin, writes stdout."""
    changed, failed = 0, 0
    for path in paths:
        if path == "-":
            text = sys.stdin.read()
            try:
                out = format_text(text, "<stdin>")
            except GenError as e:
                report(e.diagnostics, e.sources)
                sys.exit(1)
            changed += out != text
            if not check:
                click.echo(out, nl=False)
            continue
        for file in _scripts(Path(path)):
            result = _one(file, check)
            changed += result == "changed"
            failed += result == "failed"
    if failed or (check and changed):
        sys.exit(1)


def _scripts(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(path.rglob("*.gen"))
    if not path.is_file():
        raise click.BadParameter(f"no such file or folder: {path}", param_hint="PATHS")
    return [path]


def _one(file: Path, check: bool) -> str:
    """Format one file: 'same', 'changed' or 'failed' (its errors printed)."""
    try:
        text = file.read_text(encoding="utf-8")
        out = format_text(text, str(file))
    except GenError as e:
        report(e.diagnostics, e.sources)
        return "failed"
    except (OSError, UnicodeDecodeError) as e:
        click.echo(f"{file}: can't read script ({e})", err=True)
        return "failed"
    if out == text:
        return "same"
    if check:
        click.echo(f"would reformat {file}", err=True)
    else:
        file.write_text(out, encoding="utf-8")
        click.echo(f"reformatted {file}", err=True)
    return "changed"
