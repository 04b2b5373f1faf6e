"""`gencode batch FILE -o DIR --seeds 0-99 [--sweep NAME=a,b]...`: a resumable cataloged render."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gencode.cli.common import SET_OPTION, fail, parse_sets
from gencode.cli.keys import C2PA_OPTIONS, SIGN_OPTIONS, load_credentials, load_signer
from gencode.errors import GenError


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Batch folder (default: out/<script name>-batch). Run again to resume.",
)
@click.option(
    "--seeds", default=None, metavar="RANGES", help="Seeds to render, e.g. 0-999 or 1,5,9-12."
)
@click.option(
    "--sweep",
    "sweeps",
    multiple=True,
    metavar="NAME=V1,V2",
    help="A param's values to render each seed with (repeatable: every combination).",
)
@SET_OPTION
@click.option("--seed-param", default=None, metavar="NAME", help="The param --seeds sets (default: the one the script's `seed` uses).")  # fmt: skip
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda", "mps"]),
    default="auto",
    show_default=True,
    help="Where to run.",
)
@SIGN_OPTIONS
@C2PA_OPTIONS
@click.option("--grid", is_flag=True, help="Also write grid.png, a contact sheet of the items.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
def batch(
    file: str,
    out_dir: str | None,
    seeds: str | None,
    sweeps: tuple[str, ...],
    sets: tuple[str, ...],
    seed_param: str | None,
    device: str,
    sign: bool,
    key: str,
    c2pa_cert: str | None,
    c2pa_key: str | None,
    grid: bool,
    quiet: bool,
) -> None:
    """Render a script over seeds and parameter sweeps into a folder with a SQLite catalog."""
    from gencode.batch.catalog import CatalogError
    from gencode.batch.plan import PlanError, parse_seeds, parse_sweep
    from gencode.batch.runner import BatchError, BatchSpec, run_batch
    from gencode.provenance.c2pa import C2paError
    from gencode.render import RenderError

    script = Path(file)
    try:
        spec = BatchSpec(
            script,
            Path(out_dir) if out_dir else Path("out") / f"{script.stem}-batch",
            parse_seeds(seeds) if seeds else None,
            [parse_sweep(s) for s in sweeps],
            parse_sets(sets),
            seed_param,
            device,
            load_signer(key) if sign else None,
            load_credentials(c2pa_cert, c2pa_key),
            grid,
            not quiet,
        )
        if spec.seeds is None and not spec.sweeps:
            raise PlanError("give --seeds and/or --sweep: a batch of one is `gencode render`")
        result = run_batch(spec)
    except GenError as e:
        fail(e)
        return
    except (PlanError, BatchError, CatalogError, RenderError, C2paError) as e:
        click.echo(f"{file}: error: {e}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted: finished items are kept; run the same command to resume", err=True)
        sys.exit(130)
    if not quiet:
        done = f"{result.rendered} rendered, {result.skipped} already done"
        click.echo(f"{spec.out_dir}: {result.items} items ({done}), {result.outputs} files cataloged in {result.seconds:.1f}s")  # fmt: skip
        if result.swept:
            click.echo(f"removed {len(result.swept)} temp file(s) left by an interrupted run")
        if result.grid:
            click.echo(f"contact sheet: {result.grid}")
        click.echo(f"manifest: {result.manifest}")
