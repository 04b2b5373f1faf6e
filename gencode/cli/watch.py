"""`gencode watch FILE`: re-render on every save, with a live preview page on 127.0.0.1."""

from __future__ import annotations

import errno
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import click

from gencode.cli.common import (
    BF16_OPTION,
    CACHE_OPTION,
    DEVICE_OPTION,
    OUT_OPTION,
    SET_OPTION,
    THREADS_OPTION,
    open_page,
    parse_sets,
    wait_for_stop,
)

if TYPE_CHECKING:
    from gencode.watch import Live

DEFAULT_PORT = 8765


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@OUT_OPTION
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="Port of the preview page, on 127.0.0.1 only (0: any free port).",
)
@click.option("--no-open", is_flag=True, help="Do not open the preview page in a browser.")
@click.option(
    "--debounce",
    type=click.IntRange(0, 10_000),
    default=100,
    show_default=True,
    metavar="MS",
    help="Render this long after the last event of a burst of saves.",
)
@SET_OPTION
@DEVICE_OPTION
@CACHE_OPTION
@THREADS_OPTION
@BF16_OPTION
def watch(
    file: str,
    out_dir: str | None,
    port: int,
    no_open: bool,
    debounce: int,
    sets: tuple[str, ...],
    device: str,
    cache_dir: str | None,
    cpu_bf16: bool,
) -> None:
    """Render a script, then re-render on every save of it, its includes or its images.

    Errors are printed here and shown on the page over the last good frames; the show goes on.
    Ctrl-C stops.
    """
    from gencode.render import default_out_dir

    path = Path(file)
    if not path.parent.resolve().is_dir():
        raise click.BadParameter(f"no folder {path.parent}", param_hint="FILE")
    out = Path(out_dir) if out_dir is not None else default_out_dir(path)
    source = click.get_current_context().get_parameter_source("port")
    explicit = source is not click.core.ParameterSource.DEFAULT
    run = RunOptions(None if device == "auto" else device, cache_dir, cpu_bf16)
    live = _start(path, out, parse_sets(sets), port, debounce / 1000, explicit, run)
    click.echo(f"watching {path} (and what it includes); writing to {out}/; Ctrl-C to stop")
    click.echo(f"preview:     {live.url}")
    click.echo(f"performance: {live.url}?view=perform  (P toggles it, F goes fullscreen)")
    if not path.exists():
        click.echo(f"{path} does not exist yet: waiting for it", err=True)
    if not no_open:
        open_page(live.url)
    _run_until_stopped(live)


class RunOptions(NamedTuple):
    device: str | None  # None: the script's `device` setting, else auto
    cache: str | None  # a disk cache folder
    cpu_bf16: bool  # bfloat16 networks on the CPU


def _start(
    path: Path,
    out: Path,
    sets: dict[str, str],
    port: int,
    debounce: float,
    explicit: bool,
    run: RunOptions,
) -> Live:
    """A started Live; the default port falls back to any free one when it is taken."""
    from gencode.watch import Live

    def make(port: int) -> Live:
        return Live(path, out, sets, port, debounce, _log, run.device, run.cache, run.cpu_bf16)

    try:
        live = make(port)
    except OSError as e:
        if e.errno != errno.EADDRINUSE or explicit:
            raise click.ClickException(f"can't serve on 127.0.0.1:{port}: {e.strerror}") from None
        live = make(0)
    return live.start()


def _log(level: str, text: str) -> None:
    """The session's reports: renders on stdout, errors (with carets) and warnings on stderr."""
    stamp = time.strftime("%H:%M:%S")
    if level == "info":
        click.echo(f"{stamp} {text}")
    else:
        click.echo(f"{stamp} {level}:\n{text}" if "\n" in text else f"{stamp} {text}", err=True)


def _run_until_stopped(live: Live) -> None:
    """Wait for Ctrl-C (or SIGTERM), then stop the render, the watcher and the server."""
    wait_for_stop()
    click.echo("\nstopping…", err=True)
    try:
        live.stop()
    except KeyboardInterrupt:  # a second Ctrl-C: leave now
        sys.exit(130)
    click.echo("stopped", err=True)
