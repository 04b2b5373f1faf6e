"""SignalBank: controllers and sound → name → float at a frame time, smoothed and logged.

Push sources (MIDI, OSC, the audio input device) call `set(key, value)` from their threads;
pull sources (a sound file played in sync) are asked for their values at the frame time.
`read(keys, time)` smooths each value per its signal's definition and reports every value that
changed to `record(time, key, value)` — the set log — so `Replay` reproduces a performance from
the log alone. A source that can't start (no extra installed, no device) adds one note; its
signals read 0. Keys are `gencode.signals.names.key()` strings: `midi.cc 1`, `osc /x`, `audio.bass`.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from gencode.signals.names import definition
from gencode.signals.smooth import Follower

Record = Callable[[float, str, float], None]
Note = Callable[[str], None]


class PullSource(Protocol):
    def values(self, time: float) -> dict[str, float]: ...


class SignalBank:
    """The live values of every signal a script reads."""

    def __init__(self, record: Record | None = None, note: Note | None = None):
        self.record = record
        self._note = note
        self.notes: list[str] = []
        self._raw: dict[str, float] = {}
        self._followers: dict[str, Follower] = {}
        self._shown: dict[str, float] = {}
        self.sources: list[Any] = []  # started sources (OscServer.port says where OSC listens)
        self._pull: list[PullSource] = []
        self._last_time: float | None = None
        self._lock = threading.Lock()

    # ---- sources ----------------------------------------------------------------------------

    def set(self, key: str, value: float) -> None:
        """A push source's new value (any thread)."""
        with self._lock:
            self._raw[key] = float(value)

    def has(self, key: str) -> bool:
        """Whether any source (or `set`) has given `key` a value yet."""
        with self._lock:
            return key in self._raw

    def remove(self, source: Any) -> None:
        """Close a source and stop pulling from it (a script's `audio` file replaced)."""
        if source in self.sources:
            self.sources.remove(source)
        if source in self._pull:
            self._pull.remove(source)
        if hasattr(source, "close"):
            source.close()

    def add(self, source: Any) -> None:
        """A started source: pulled at each read if it has `values`, closed with the bank."""
        self.sources.append(source)
        if hasattr(source, "values"):
            self._pull.append(source)

    def note(self, text: str) -> None:
        """Say something once (a missing device or extra), never twice."""
        if text not in self.notes:
            self.notes.append(text)
            if self._note is not None:
                self._note(text)

    def open(
        self,
        keys: Iterable[str],
        osc_port: int | None = None,
        audio_file: str | Path | None = None,
        midi_port: str | None = None,
    ) -> SignalBank:
        """Start the sources the keys need: MIDI, OSC on 127.0.0.1, audio (a file or the input)."""
        kinds = {k.split(" ", 1)[0].split(".", 1)[0] for k in keys}
        if "midi" in kinds:
            from gencode.signals.midi import MidiInput

            self.add(MidiInput(self, midi_port))
        if "osc" in kinds:
            from gencode.signals.osc import OscServer

            self.add(OscServer(self, osc_port or 0))
        if "audio" in kinds:
            from gencode.signals.audio import AudioDevice, AudioFile

            self.add(AudioFile(self, audio_file) if audio_file else AudioDevice(self))
        return self

    def close(self) -> None:
        for source in self.sources:
            if hasattr(source, "close"):
                source.close()
        self.sources.clear()
        self._pull.clear()

    # ---- reading ----------------------------------------------------------------------------

    def read(self, keys: Iterable[str], time: float) -> dict[str, float]:
        """Each key's smoothed value at `time` (seconds into the set); 0 for a silent source."""
        keys = list(keys)
        for source in self._pull:
            for k, v in source.values(time).items():
                self.set(k, v)
        dt = 0.0 if self._last_time is None else max(time - self._last_time, 0.0)
        self._last_time = time
        with self._lock:
            raw = {k: self._raw.get(k, 0.0) for k in keys}
        out = {}
        for k, target in raw.items():
            follower = self._followers.get(k)
            if follower is None:
                tau = definition(k).smooth
                follower = self._followers[k] = Follower(tau, tau, target)
            out[k] = follower.step(target, dt)
            if self._shown.get(k) != out[k]:
                self._shown[k] = out[k]
                if self.record is not None:
                    self.record(time, k, out[k])
        return out

    def __enter__(self) -> SignalBank:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Replay:
    """A set log's signal events → the same values at the same times (what `read` returned)."""

    def __init__(self, events: Iterable[tuple[float, str, float]]):
        self._series: dict[str, tuple[list[float], list[float]]] = {}
        for time, key, value in sorted(events, key=lambda e: e[0]):
            times, values = self._series.setdefault(key, ([], []))
            times.append(float(time))
            values.append(float(value))

    def read(self, keys: Iterable[str], time: float) -> dict[str, float]:
        out = {}
        for k in keys:
            times, values = self._series.get(k, ([], []))
            i = bisect.bisect_right(times, time) - 1
            out[k] = values[i] if i >= 0 else 0.0
        return out
