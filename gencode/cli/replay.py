"""`gencode replay NAME.set.json -o DIR`: re-render a recorded live set, frame for frame."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gencode.cli.common import BF16_OPTION, DEVICE_OPTION, THREADS_OPTION, threads_given
from gencode.cli.live import _size


@click.command()
@click.argument("set_log", type=click.Path(dir_okay=False, exists=True))
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for frames/NNNN.png and the MP4.")  # fmt: skip
@click.option("--size", default=None, metavar="WxH", help="Re-render at this size.")
@click.option("--steps", type=click.IntRange(1, 1000), default=None, help="Sampler steps.")
@DEVICE_OPTION
@THREADS_OPTION
@BF16_OPTION
def replay(
    set_log: str, out_dir: str, size: str | None, steps: int | None, device: str, cpu_bf16: bool
) -> None:
    """Re-render a set recorded with `gencode live --record NAME`: every program version at the
    frame it went live, every number and signal change. At the recording's own settings each
    frame's pixels are compared with the hashes in the log; --size/--steps give the same
    performance at another quality. It renders with the recording's thread count unless
    --threads says otherwise."""
    from gencode.errors import GenError
    from gencode.live.replay import replay as run
    from gencode.runtime.execute import RenderError

    forced: dict = {}
    if size:
        forced["size"] = list(_size(size) or ())
    if steps:
        forced["steps"] = steps
    try:
        result = run(
            Path(set_log), Path(out_dir), forced, device, cpu_bf16, threads=threads_given()
        )
    except GenError as e:
        click.echo(e.format(), err=True)
        sys.exit(1)
    except (ValueError, RenderError) as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(1)
    plural = "s" if result.threads != 1 else ""
    click.echo(
        f"wrote {len(result.written) - 1} frames and {result.written[-1]}"
        f" (with {result.threads} thread{plural})"
    )
    if forced:
        click.echo(f"re-rendered at {forced}: frames differ from the recording by design")
    elif result.matched == result.frames:
        click.echo(f"all {result.frames} frames equal the recorded ones (pixel hashes)")
    else:
        click.echo(
            f"{result.frames - result.matched} of {result.frames} frames differ from the "
            f"recording (first: frame {result.first_mismatch}); other device or versions?",
            err=True,
        )
        sys.exit(2)
