"""`gencode signals KEY...`: show live signals as they change — check a MIDI controller, an OSC
sender or the microphone before a set, without a script or a render."""

from __future__ import annotations

import time

import click

from gencode.errors import did_you_mean
from gencode.signals.names import SIGNALS, key
from gencode.signals.osc import DEFAULT_PORT as DEFAULT_OSC_PORT


def parse_key(text: str) -> str:
    """`midi.cc 1`, `osc /x`, `audio.bass` → a bank key; a bad one is a usage error."""
    name, _, arg = text.strip().partition(" ")
    d = SIGNALS.get(name)
    if d is None:
        raise click.BadParameter(f"unknown signal '{name}'{did_you_mean(name, SIGNALS)}")
    arg = arg.strip().strip('"')
    if d.arg is None:
        if arg:
            raise click.BadParameter(f"'{name}' takes no argument")
        return key(name)
    if d.arg == "number":
        if not arg.isdigit() or not d.lo <= int(arg) <= d.hi:
            raise click.BadParameter(f"'{name}' takes a whole number from {d.lo} to {d.hi}")
        return key(name, float(arg))
    if not arg.startswith("/"):
        raise click.BadParameter(f"'{name}' takes an address like /x")
    return key(name, arg)


@click.command()
@click.argument("keys", nargs=-1, required=True)
@click.option(
    "--osc-port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_OSC_PORT,
    show_default=True,
    help="UDP port for OSC, on 127.0.0.1 only (0: any free port).",
)
@click.option(
    "--audio",
    "audio_file",
    type=click.Path(dir_okay=False, exists=True),
    help="A WAV file played in sync, instead of the input device.",
)
@click.option("--midi-port", help="One MIDI input port by name (default: all, and a virtual one).")
@click.option("--seconds", type=float, help="Stop after this long (default: Ctrl-C).")
@click.option("--rate", type=float, default=30.0, show_default=True, help="Reads per second.")
def signals(
    keys: tuple[str, ...],
    osc_port: int,
    audio_file: str | None,
    midi_port: str | None,
    seconds: float | None,
    rate: float,
) -> None:
    """Print signals (`"midi.cc 1"`, `"osc /x"`, `audio.bass`) each time one changes."""
    from gencode.signals.bank import SignalBank
    from gencode.signals.osc import OscServer

    names = [parse_key(k) for k in keys]
    note = lambda text: click.echo(f"note: {text}", err=True)  # noqa: E731
    shown: dict[str, str] = {}
    with SignalBank(note=note).open(names, osc_port, audio_file, midi_port) as bank:
        for source in bank.sources:
            if isinstance(source, OscServer) and source.port:
                click.echo(f"OSC on 127.0.0.1:{source.port}", err=True)
        start = time.monotonic()
        try:
            while seconds is None or time.monotonic() - start < seconds:
                t = time.monotonic() - start
                for k, v in bank.read(names, t).items():
                    text = f"{v:.3f}"
                    if shown.get(k) != text:
                        shown[k] = text
                        click.echo(f"{t:7.2f}s  {k} = {text}")
                time.sleep(1.0 / rate)
        except KeyboardInterrupt:
            pass
