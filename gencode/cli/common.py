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

OUT_OPTION = click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Output folder (default: out/<script name>).",
)

DEVICE_OPTION = click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda", "mps"]),
    default="auto",
    show_default=True,
    help="Where to run (auto: the script's `device` setting, else CUDA, then MPS, then CPU).",
)

CACHE_OPTION = click.option(
    "--cache",
    "cache_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Keep computed values in DIR, so later renders (and later sessions) reuse them.",
)

BF16_OPTION = click.option(
    "--bf16",
    "cpu_bf16",
    is_flag=True,
    help="On the CPU, run the networks in bfloat16: about 1.7x faster where the CPU has "
    "AVX-512 BF16 or AMX, slightly different pixels (each file's record says bfloat16).",
)


def _set_threads(ctx: click.Context, param: click.Parameter, value: int | None) -> None:
    if value is not None:
        from gencode.runtime.device import set_default_threads

        set_default_threads(value)


def threads_given() -> int | None:
    """`--threads N` when the command line gave it; None when it did not."""
    ctx = click.get_current_context()
    if ctx.get_parameter_source("threads") != click.core.ParameterSource.COMMANDLINE:
        return None
    from gencode.runtime.device import default_threads  # the --threads callback set it

    return default_threads()


THREADS_OPTION = click.option(
    "--threads",
    type=click.IntRange(1, 1024),
    default=None,
    metavar="N",
    expose_value=False,
    callback=_set_threads,
    help="CPU threads for torch (default 1: fastest on a busy machine; more can be faster on an "
    "idle one). Each file records it; the same script, seed and thread count give the same pixels.",
)


def open_page(url: str) -> None:
    """Open a page in the user's browser; none here (a server, a container) is fine: the URL is
    printed anyway."""
    import webbrowser

    try:
        webbrowser.open(url)
    except Exception:  # noqa: BLE001 — whatever the platform's opener raises
        pass


def wait_for_stop() -> None:
    """Block until Ctrl-C or SIGTERM (`gencode watch` and `gencode live` run until then)."""
    import signal
    import threading

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # Ctrl-C raises KeyboardInterrupt even when started from a script in the background, where
    # SIGINT comes in ignored (and Python then leaves it ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
