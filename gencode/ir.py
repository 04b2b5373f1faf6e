"""The checked program: outputs whose values are graph nodes (`gencode.graph.Node`) with every
name, setting and default resolved, their params possibly still symbolic (schedules, frame
expressions, model references).

Input: built by `check`. Output: read by `compile`, which lowers the nodes at a frame into keyed ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gencode.graph import Node
from gencode.source import NOSPAN, Span


@dataclass(frozen=True)
class Const:
    """A compile-time constant: number, string, size (w, h), symbol, list, range."""

    type: str
    value: Any
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class Sched:
    """Keyframes (frame, value), interpolated per frame by `compile` (numbers linearly); with a
    `period` (`loop: 16b`), the schedule repeats every `period` frames."""

    keyframes: tuple[tuple[float, Any], ...]
    period: float | None = None

    def at(self, frame: float) -> Any:
        """The value at a frame: linear between keys, held before the first and after the last."""
        keys = self.keyframes
        if self.period:
            # One lap: the last key interpolates round to the first key of the next lap.
            frame = frame % self.period
            (f0, v0), (fn, vn) = keys[0], keys[-1]
            keys = ((fn - self.period, vn), *keys, (f0 + self.period, v0))
        if frame <= keys[0][0]:
            return keys[0][1]
        for (f0, v0), (f1, v1) in zip(keys, keys[1:], strict=False):
            if frame <= f1:
                w = (frame - f0) / (f1 - f0)
                return v0 + (v1 - v0) * w if isinstance(v0, float) else (v0, v1, w)
        return keys[-1][1]


@dataclass(frozen=True)
class CheckedOutput:
    value: Node
    name: str | None  # the binding or `as` name, when there is one
    path: str | None  # from `save`, relative to the output folder
    fps: float
    span: Span
    audio: str | None = None  # a soundtrack, relative to the script's folder


@dataclass
class CheckedProgram:
    outputs: list[CheckedOutput]
    files: list[str]  # every file read (the script and its includes), for watch mode
    sources: dict[str, str]
    notes: list[Any] = field(default_factory=list)  # Diagnostics of severity note/warning
    params: dict[str, Any] = field(default_factory=dict)
    device: str = "auto"
    device_span: Span | None = None  # where the script set `device`, for errors about it
    audio: str | None = None  # `audio "track.wav"`: drives audio.* signals (relative to the root)
