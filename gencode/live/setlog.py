"""The set log: everything a performance was made of, as JSON (`NAME.set.json`).

Input: the engine's events as they happen — a program going live, a number or signal changing,
each frame shown (its index and pixel hash), each error. Output: a JSON document that `replay`
reads back: programs with their sources and the frame they went live, events by frame, and the
frames shown, plus the environment (fps, size, threads, device, dtype, models, versions).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gencode.runtime.atomic import atomic_path

FORMAT = "gencode-set/1"


@dataclass
class SetLog:
    """A performance's log; thread-safe appends, written atomically by `save`."""

    script: str  # the script's file name
    root: str  # its folder (images and models a replay reads from there)
    fps: float
    environment: dict[str, Any] = field(default_factory=dict)
    sets: dict[str, str] = field(default_factory=dict)
    forced: dict[str, Any] = field(default_factory=dict)  # --size: the size every program ran at
    programs: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    frames: list[list[Any]] = field(default_factory=list)  # [frame, sha256 of the pixels]
    errors: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def program(
        self, number: int, frame: int, time: float, sources: dict, numbers: dict, **extra: Any
    ) -> None:
        entry = {
            "number": number,
            "frame": frame,
            "time": round(time, 3),
            **extra,
            "sources": sources,
            "numbers": [[line, col, v] for (line, col), v in sorted(numbers.items())],
        }
        with self._lock:
            self.programs.append(entry)

    def event(self, frame: int, kind: str, **data: Any) -> None:
        with self._lock:
            self.events.append({"frame": frame, "kind": kind, **data})

    def shown(self, frame: int, sha256: str) -> None:
        with self._lock:
            self.frames.append([frame, sha256])

    def error(self, frame: int, message: str) -> None:
        with self._lock:
            if not self.errors or self.errors[-1]["message"] != message:
                self.errors.append({"frame": frame, "message": message})

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "format": FORMAT,
                "script": self.script,
                "root": self.root,
                "fps": self.fps,
                "environment": self.environment,
                "sets": self.sets,
                "forced": self.forced,
                "programs": list(self.programs),
                "events": list(self.events),
                "frames": list(self.frames),
                "dropped": _dropped(self.frames),
                "errors": list(self.errors),
            }

    def save(self, path: Path) -> Path:
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")
        return path


def _dropped(frames: list[list[Any]]) -> int:
    """Frames the clock passed without a new picture (the previous one stayed on screen)."""
    return sum(b[0] - a[0] - 1 for a, b in zip(frames, frames[1:], strict=False))


def read(path: Path) -> dict[str, Any]:
    """A set log, checked for its format (a clear error, never a traceback)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: not a readable set log ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"{path}: not a gencode set log (expected format {FORMAT})")
    return doc
