"""`gencode render FILE`: check, compile, execute and write a script's outputs, with progress."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import click

from gencode.cli.common import (
    BF16_OPTION,
    CACHE_OPTION,
    DEVICE_OPTION,
    OUT_OPTION,
    SET_OPTION,
    THREADS_OPTION,
    fail,
    parse_sets,
    report,
)
from gencode.cli.keys import C2PA_OPTIONS, SIGN_OPTIONS, load_credentials, load_signer
from gencode.errors import GenError


class Bars:
    """One tqdm bar (on stderr) per op call, fed by the executor's (label, done, total) reports."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.bar = None
        self.key: tuple[str, int] | None = None
        self.done = 0

    def __call__(self, label: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        if self.key != (label, total) or done < self.done:
            self.close()
            self.bar = tqdm(
                total=total,
                desc=f"{label:<10}",
                unit="step",
                leave=False,
                disable=None,
                file=sys.stderr,
                dynamic_ncols=True,
            )
            self.key, self.done = (label, total), 0
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.bar, self.key, self.done = None, None, 0


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@OUT_OPTION
@SET_OPTION
@DEVICE_OPTION
@CACHE_OPTION
@THREADS_OPTION
@BF16_OPTION
@SIGN_OPTIONS
@C2PA_OPTIONS
@click.option("-q", "--quiet", is_flag=True, help="No progress bars, notes or summary.")
@click.option(
    "--frames",
    type=click.IntRange(1, 1_000_000),
    default=None,
    help="Render the first N frames of the script's live stream (`gencode live`) exactly.",
)
@click.option(
    "--seconds",
    type=click.FloatRange(0, 86_400, min_open=True),
    default=None,
    help="The same, for S seconds at the script's fps.",
)
def render(
    file: str,
    out_dir: str | None,
    sets: tuple[str, ...],
    device: str,
    cache_dir: str | None,
    cpu_bf16: bool,
    sign: bool,
    key: str,
    c2pa_cert: str | None,
    c2pa_key: str | None,
    quiet: bool,
    frames: int | None,
    seconds: float | None,
) -> None:
    """Render a script's outputs: PNG stills, frame folders, GIF and MP4 animations, each
    carrying a provenance record (see `gencode inspect`)."""
    from gencode.render import RenderError, load_script
    from gencode.render import render as render_script
    from gencode.runtime.device import DeviceError

    if frames is not None or seconds is not None:
        _render_stream(Path(file), out_dir, parse_sets(sets), device, cpu_bf16, frames, seconds)
        return
    signer = load_signer(key) if sign else None
    credentials = load_credentials(c2pa_cert, c2pa_key)
    try:
        script = load_script(Path(file), parse_sets(sets))
    except GenError as e:
        fail(e)
        return
    if not quiet:
        report(script.program.notes, script.program.sources)
    bars = Bars(enabled=not quiet)
    t0 = time.perf_counter()
    try:
        result = render_script(
            script,
            out_dir,
            device=device,
            cache=cache_dir,
            progress=bars,
            signer=signer,
            cpu_bf16=cpu_bf16,
            notice=None if quiet else lambda text: click.echo(text, err=True),
        )
    except GenError as e:  # an error about a line of the script (its `device`)
        bars.close()
        fail(e)
        return
    except KeyboardInterrupt:
        bars.close()
        click.echo("interrupted: stopped cleanly, no file was left half-written", err=True)
        sys.exit(130)
    except (RenderError, DeviceError) as e:
        bars.close()
        where = e.where() if isinstance(e, RenderError) else None
        click.echo(e.located() if where else f"{file}: error: {e}", err=True)
        sys.exit(1)
    bars.close()
    if credentials is not None:
        _add_credentials(result.written, credentials)
    if not quiet:
        _summary(result, time.perf_counter() - t0)


def _render_stream(
    path: Path,
    out_dir: str | None,
    sets: dict[str, str],
    device: str,
    cpu_bf16: bool,
    frames: int | None,
    seconds: float | None,
) -> None:
    """What `gencode live` would show for N frames (or S seconds), frame by frame."""
    from gencode.live.program import load
    from gencode.live.replay import render_frames
    from gencode.render import default_out_dir
    from gencode.runtime.execute import RenderError

    try:
        if frames is None:
            assert seconds is not None
            frames = max(1, round(seconds * float(load(path, sets).settings["fps"])))
        out = Path(out_dir) if out_dir is not None else default_out_dir(path)
        written = render_frames(path, frames, out, sets, device, cpu_bf16)
    except GenError as e:
        fail(e)
        return
    except RenderError as e:
        click.echo(f"{path}: error: {e}", err=True)
        sys.exit(1)
    click.echo(f"wrote {len(written) - 1} frames to {out}/frames/ and {written[-1]}")


def _add_credentials(paths: list[Path], credentials) -> None:
    """Embed C2PA credentials carrying each file's record (each file rewritten atomically)."""
    from gencode.provenance.c2pa import C2paError, embed_all
    from gencode.runtime.outputs import read_record

    try:
        embed_all(paths, [read_record(p) or {} for p in paths], credentials)
    except C2paError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(1)


def _summary(result, seconds: float) -> None:
    """The files written, then time per op and cache hits."""
    for path in result.swept:
        click.echo(f"removed {path}, a temp file left by an interrupted write")
    for first, last, n in _numbered_runs(result.written):
        click.echo(f"wrote {first}" if n == 1 else f"wrote {first} … {last.name} ({n} files)")
    click.echo(result.summary.format())
    click.echo(
        f"{len(result.written)} file{'s' if len(result.written) != 1 else ''} in {seconds:.2f}s"
    )


def _numbered_runs(paths: list[Path]) -> list[tuple[Path, Path, int]]:
    """Paths as (first, last, count) runs: a sequence's numbered frames make one line."""
    runs: list[tuple[Path, Path, int]] = []
    for path in paths:
        if runs and _same_series(runs[-1][1], path):
            runs[-1] = (runs[-1][0], path, runs[-1][2] + 1)
        else:
            runs.append((path, path, 1))
    return runs


def _same_series(a: Path, b: Path) -> bool:
    """Whether b is the frame after a (`0003.png` then `0004.png`, in one folder)."""
    ma, mb = (re.fullmatch(r"(.*?)(\d+)", p.stem) for p in (a, b))
    return bool(
        ma and mb and a.parent == b.parent and a.suffix == b.suffix
        and ma[1] == mb[1] and int(mb[2]) == int(ma[2]) + 1
    )  # fmt: skip
