"""`gencode batch FILE -o DIR --seeds 0-99 [--sweep NAME=a,b]... [--ray ADDRESS]`: a resumable
cataloged render, on this machine or on Ray workers."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

import click

from gencode.cli.common import (
    BF16_OPTION,
    DEVICE_OPTION,
    SET_OPTION,
    THREADS_OPTION,
    fail,
    parse_sets,
    threads_given,
)
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
@DEVICE_OPTION
@THREADS_OPTION
@BF16_OPTION
@SIGN_OPTIONS
@C2PA_OPTIONS
@click.option("--grid", is_flag=True, help="Also write grid.png, a contact sheet of the items.")
@click.option(
    "--ray",
    default=None,
    metavar="ADDRESS",
    help="Render on Ray workers: 'local' (a Ray instance on this machine), 'auto', "
    "'ray://HOST:10001' or 'HOST:6379'. Files are still written here. Needs the ray extra (pip install '.[ray]' in the gencode checkout).",
)
@click.option("--ray-workers", type=click.IntRange(1), default=None, metavar="N", help="Ray workers (default: as many as the cluster's CPUs, or GPUs, allow).")  # fmt: skip
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
def batch(file: str, **options: Any) -> None:
    """Render a script over seeds and parameter sweeps into a folder with a SQLite catalog."""
    from gencode.batch.catalog import CatalogError
    from gencode.batch.plan import PlanError
    from gencode.batch.runner import BatchError, run_batch
    from gencode.provenance.c2pa import C2paError
    from gencode.render import RenderError

    # Ctrl-C stops the batch even when started in the background from a script, where SIGINT
    # arrives ignored (and Python then leaves it ignored): as `gencode watch` does.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        spec = _spec(Path(file), options)
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
    if not options["quiet"]:
        _summary(spec, result)
    if result.unfinished:
        n, first = len(result.unfinished), result.unfinished[0]
        click.echo(
            f"{spec.out_dir}: not finished: {n} item(s) of an earlier, larger run are still pending "
            f"(e.g. {first}); run it again with that run's --seeds/--sweep to finish (no manifest written)",
            err=True,
        )
        sys.exit(1)


def _spec(script: Path, o: dict[str, Any]):
    """The command line as a BatchSpec (a key or certificate problem exits here, early)."""
    from gencode.batch.plan import PlanError, parse_seeds, parse_sweep
    from gencode.batch.runner import BatchSpec

    spec = BatchSpec(
        script,
        Path(o["out_dir"]) if o["out_dir"] else Path("out") / f"{script.stem}-batch",
        parse_seeds(o["seeds"]) if o["seeds"] else None,
        [parse_sweep(s) for s in o["sweeps"]],
        parse_sets(o["sets"]),
        o["seed_param"],
        o["device"],
        load_signer(o["key"]) if o["sign"] else None,
        load_credentials(o["c2pa_cert"], o["c2pa_key"]),
        o["grid"],
        not o["quiet"],
        o["ray"],
        o["ray_workers"],
        threads_given(),  # each Ray worker then uses (and reserves) N CPU threads
        o["cpu_bf16"],
    )
    if spec.ray is None and spec.ray_workers is not None:
        raise PlanError("--ray-workers goes with --ray ADDRESS")
    if spec.seeds is None and not spec.sweeps:
        raise PlanError("give --seeds and/or --sweep: a batch of one is `gencode render`")
    return spec


def _summary(spec, result) -> None:
    done = f"{result.rendered} rendered, {result.skipped} already done"
    click.echo(f"{spec.out_dir}: {result.items} items ({done}), {result.outputs} files cataloged in {result.seconds:.1f}s")  # fmt: skip
    if result.swept:
        click.echo(f"removed {len(result.swept)} temp file(s) left by an interrupted run")
    if result.restored:
        click.echo(f"rendered again {len(result.restored)} finished item(s) whose files were missing: {', '.join(result.restored[:5])}")  # fmt: skip
    if result.grid:
        click.echo(f"contact sheet: {result.grid}")
    if result.manifest:
        click.echo(f"manifest: {result.manifest}")
