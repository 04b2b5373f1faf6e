"""`gencode live FILE`: stream a script in real time; every good save hot-swaps in."""

from __future__ import annotations

import time
from pathlib import Path

import click

from gencode.cli.common import (
    BF16_OPTION,
    DEVICE_OPTION,
    SET_OPTION,
    THREADS_OPTION,
    open_page,
    parse_sets,
    wait_for_stop,
)
from gencode.signals.osc import DEFAULT_PORT as DEFAULT_OSC_PORT

DEFAULT_PORT = 8766


def _size(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    w, _, h = text.lower().partition("x")
    try:
        return (int(w), int(h or w))
    except ValueError:
        raise click.BadParameter(f"'{text}': write 256 or 256x192", param_hint="--size") from None


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True,
              help="Port of the page and the streams (0: any free port).")  # fmt: skip
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to serve on; anything but loopback exposes the stream to the network.")  # fmt: skip
@click.option("--fps", type=click.FloatRange(1, 120), default=None,
              help="Frames per second of the stream (default: the script's fps).")  # fmt: skip
@click.option(
    "--size", default=None, metavar="WxH", help="Stream at this size, whatever the script says."
)
@click.option("--record", default=None, metavar="NAME",
              help="Record the set: NAME.mp4 and NAME.set.json (for `gencode replay`).")  # fmt: skip
@click.option("--no-open", is_flag=True, help="Do not open the page in a browser.")
@click.option("--osc-port", type=click.IntRange(0, 65535), default=None, metavar="N",
              help=f"Listen for OSC on UDP 127.0.0.1:N now (default: on {DEFAULT_OSC_PORT} once "
                   "the script reads an osc signal; 0: any free port).")  # fmt: skip
@click.option("--midi", is_flag=False, flag_value="", default=None, metavar="[PORT]",
              help="Open MIDI input now: PORT, or every port and a virtual port 'gencode' "
                   "(default: those, once the script reads midi.*).")  # fmt: skip
@click.option("--audio", is_flag=False, flag_value="", default=None, metavar="[DEVICE|FILE.wav]",
              help="audio.* from this input device or WAV file (default: the script's `audio` "
                   "file, else the default input device).")  # fmt: skip
@SET_OPTION
@DEVICE_OPTION
@THREADS_OPTION
@BF16_OPTION
def live(
    file: str, port: int, host: str, fps: float | None, size: str | None, record: str | None,
    no_open: bool, osc_port: int | None, midi: str | None, audio: str | None,
    sets: tuple[str, ...], device: str, cpu_bf16: bool,
) -> None:  # fmt: skip
    """Stream a script frame by frame at its fps, hot-swapping each good save at the next frame
    (or beat, with `quantize`); a broken save leaves the old program playing. Ctrl-C stops."""
    from gencode.live.inputs import InputOptions
    from gencode.live.session import LiveSession

    path = Path(file)
    if audio and audio.lower().endswith(".wav") and not Path(audio).is_file():
        raise click.BadParameter(f"no such WAV file: {audio}", param_hint="--audio")
    inputs = InputOptions(osc_port, midi, audio)
    try:
        session = LiveSession(
            path, port, host, sets=parse_sets(sets), fps=fps, size=_size(size), device=device,
            cpu_bf16=cpu_bf16, record=record, log=_log, inputs=inputs,
        ).start()  # fmt: skip
    except OSError as e:
        raise click.ClickException(f"can't serve on {host}:{port}: {e.strerror}") from None
    click.echo(f"streaming {path}; Ctrl-C to stop")
    click.echo(f"page:    {session.url}   perform: {session.url}?view=perform")
    click.echo(f"MJPEG:   {session.url}stream.mjpg   status: {session.url}status")
    if session.engine.inputs.osc_port:
        click.echo(f"OSC:     udp://127.0.0.1:{session.engine.inputs.osc_port}")
    if not no_open:
        open_page(session.url)
    wait_for_stop()
    click.echo("\nstopping…", err=True)
    for written in session.stop():
        click.echo(f"wrote {written}")
    st = session.engine.status()
    click.echo(f"{st['frame'] + 1} frames, {st['dropped']} dropped, {st['program']} programs")


def _log(level: str, text: str) -> None:
    stamp = time.strftime("%H:%M:%S")
    click.echo(f"{stamp} {text}", err=level != "info")
