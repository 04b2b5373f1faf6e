"""Inputs: the live stream's signals — `gencode live`'s options and each program that goes live →
the value of every signal the program reads, once per frame, at the frame's time.

Input: `InputOptions` (`--osc-port`, `--midi`, `--audio`), each new program (the signal keys its
frame expressions read, its `audio "track.wav"`), values set from outside (`POST /api/signal`).
Output: `read(seconds)` → {key: value} for every key that has a value (an unset key keeps its
expression's default); the engine logs each change with its frame, so a replay reads the same.

Sources open when asked for on the command line, or when a program first reads their kind; a
missing extra or device reads 0 with one note (gencode/signals/).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gencode.check.frame_expr import FrameExpr
from gencode.graph import Node
from gencode.ir import CheckedProgram, Sched
from gencode.signals.bank import SignalBank
from gencode.signals.names import definition
from gencode.signals.osc import DEFAULT_PORT


@dataclass(frozen=True)
class InputOptions:
    osc_port: int | None = None  # listen at once on this port; None: on DEFAULT_PORT when read
    midi: str | None = (
        None  # "": every port (and a virtual one); a name: that port; None: when read
    )
    audio: str | None = None  # "": the default input; a device name or a WAV file; None: when read


class Inputs:
    """One SignalBank for the session; sources opened as programs need them."""

    def __init__(self, options: InputOptions, note: Callable[[str], None]):
        self.options = options
        self.bank = SignalBank(note=note)
        self.keys: frozenset[str] = frozenset()
        self.external: set[str] = set()  # names set from outside
        self.opened: dict[str, Any] = {}  # kind → its source
        self.track: tuple[str, Any] | None = None  # the program's `audio` file and its source
        for kind, asked in (("osc", options.osc_port), ("midi", options.midi)):
            if asked is not None:
                self._open(kind)
        if options.audio is not None:
            self._open("audio")

    @property
    def osc_port(self) -> int:
        """Where OSC listens (0: not listening)."""
        return int(getattr(self.opened.get("osc"), "port", 0))

    def program(self, checked: CheckedProgram, root: Path) -> None:
        """A program went live: read its keys from now on, opening the sources they need."""
        self.keys = frozenset(signal_keys(checked))
        kinds = {definition(k).extra for k in self.keys}  # "midi", "osc", "audio"; "" a free name
        for kind in sorted(kinds & {"midi", "osc"} - set(self.opened)):
            self._open(kind)
        self._track(str(root / checked.audio) if checked.audio else None)
        reads_audio = "audio" in kinds
        if reads_audio and self.track is None and "audio" not in self.opened:
            self._open("audio")

    def set(self, key: str, value: float) -> None:
        """A value from outside (the page, `POST /api/signal`): read and shown from now on,
        whether or not the program reads it yet."""
        self.bank.set(key, value)
        self.external.add(key)

    def read(self, seconds: float) -> dict[str, float]:
        """The value of each key the program reads that has one, at `seconds` into the set."""
        if self.track is not None:
            self.track[1].play(seconds)
        values = self.bank.read(sorted(self.keys | self.external), seconds)
        return {k: v for k, v in values.items() if self.bank.has(k)}

    def status(self) -> dict[str, Any]:
        return {"osc_port": self.osc_port, "open": sorted(self.opened), "notes": self.bank.notes}

    def close(self) -> None:
        self.bank.close()

    def _open(self, kind: str) -> None:
        o = self.options
        if kind == "osc":
            from gencode.signals.osc import OscServer

            port = DEFAULT_PORT if o.osc_port is None else o.osc_port
            source: Any = OscServer(self.bank, port)
        elif kind == "midi":
            from gencode.signals.midi import MidiInput

            source = MidiInput(self.bank, o.midi or None)
        else:
            from gencode.signals.audio import AudioDevice, AudioFile

            if o.audio and Path(o.audio).suffix.lower() == ".wav":
                source = AudioFile(self.bank, o.audio)
            else:
                source = AudioDevice(self.bank, device=o.audio or None)
        self.opened[kind] = source
        self.bank.add(source)

    def _track(self, path: str | None) -> None:
        """The program's `audio` file replaces the input device; a new file replaces the old."""
        if (self.track and self.track[0]) == path:
            return
        if self.track is not None:
            self.bank.remove(self.track[1])
            self.track = None
        if path is not None:
            from gencode.signals.audio import AudioFile

            self.track = (path, AudioFile(self.bank, path))
            self.bank.add(self.track[1])
            device = self.opened.pop("audio", None)
            if device is not None:
                self.bank.remove(device)


def signal_keys(checked: CheckedProgram) -> set[str]:
    """Every signal key the program's frame expressions read."""
    keys: set[str] = set()
    seen: set[int] = set()
    stack: list[Node] = [o.value for o in checked.outputs]
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        for x in _leaves(v.params):
            keys |= x.signals()
        stack.extend(v.inputs)
    return keys


def _leaves(x: Any) -> Iterator[FrameExpr]:
    if isinstance(x, FrameExpr):
        yield x
    elif isinstance(x, dict):
        for y in x.values():
            yield from _leaves(y)
    elif isinstance(x, tuple | list):
        for y in x:
            yield from _leaves(y)
    elif isinstance(x, Sched):
        yield from _leaves(x.keyframes)
