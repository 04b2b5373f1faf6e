"""`gencode reproduce FILE`: re-render an output from its record and compare the pixels.

Exit status: 0 exact match, 1 the pixels differ (from the record or the file), 2 not reproducible
(no record, a script that no longer checks, a missing or changed model).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda", "mps"]),
    default="auto",
    show_default=True,
    help="Where to re-render.",
)
@click.option(
    "--root",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="The folder to re-render in: models, images and includes are read from it "
    "(default: the nearest folder from the file's own upwards holding the recorded script, "
    "else the file's folder; never a path the record names).",
)
def reproduce(file: str, device: str, root: str | None) -> None:
    """Re-render an output from its embedded script and compare pixels with the record."""
    from gencode.cli.inspect import printable
    from gencode.provenance.reproduce import ReproduceError
    from gencode.provenance.reproduce import reproduce as run

    try:
        outcome = run(Path(file), device, Path(root) if root else None)
    except ReproduceError as e:
        click.echo(f"{file}: can't reproduce: {printable(str(e), chr(10))}", err=True)
        sys.exit(2)
    for name, then, now in outcome.env_diffs:
        click.echo(f"environment differs: {name} was {then}, is {now}")
    for edit in outcome.edited:
        click.echo(f"the record was edited: {printable(edit)}")
    if outcome.ok:
        click.echo(f"{file}: exact match (the re-render's pixels have the recorded sha256)")
        return
    if outcome.undecodable is not None:
        click.echo(f"{file}: its pixels cannot be decoded ({printable(outcome.undecodable)}); nothing to compare the re-render with")  # fmt: skip
    elif outcome.exact and outcome.file_intact:
        click.echo(f"{file}: the pixels match, but the record does not describe them (edited)")
    elif outcome.exact:
        click.echo(f"{file}: the re-render matches the record, but the file's pixels do not")
    else:
        click.echo(f"{file}: the re-render differs from the record")
    if outcome.undecodable is None:
        click.echo(f"max difference {outcome.max_diff}/255, PSNR {outcome.psnr:.1f} dB (against the file)")  # fmt: skip
    if not outcome.exact and not outcome.env_diffs:
        same = "same device, dtype, threads, CPU and versions"
        click.echo(f"{same}: the script's inputs or gencode's ops changed")
    sys.exit(1)
