"""Replay: a set log → the performance re-rendered offline; and `render --frames`: a live
script → the frames its stream shows.

Input: `NAME.set.json` (programs with their sources and the frame each went live, number and
signal events by frame, the frames shown with their pixel hashes), or a script and a frame count.
Output: PNG frames (`DIR/frames/0000.png`, numbered by stream frame) and an MP4, written through
the same stepper as the stream, so at the recording's own settings every hash matches.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gencode.live.numbers import rebind
from gencode.live.program import Program, load
from gencode.live.setlog import read
from gencode.live.stepper import Shown, Stepper, pipeline
from gencode.runtime.execute import Executor
from gencode.runtime.outputs import write_still
from gencode.runtime.video import write_mp4
from gencode.signals.audio import track_signals

Progress = Callable[[int, int], None]


@dataclass
class Replayed:
    frames: int = 0
    matched: int = 0  # frames whose pixels hash as the recording's did
    first_mismatch: int | None = None
    threads: int = 0  # the CPU threads it rendered with
    written: list[Path] = field(default_factory=list)


def stream(
    program: Program, frames: int, executor: Callable[[Program], Executor]
) -> Iterator[Shown]:
    """The first `frames` frames a stream of `program` shows when no frame is dropped, its
    `audio` file driving audio.* at each frame's time as it does live."""
    stepper = Stepper(executor)  # `executor`: a `stepper.pipeline`
    program.number = 1
    stepper.begin(program, 0)
    sound = track_signals(program.root, program.checked.audio)
    fps = float(program.settings["fps"])
    for f in range(frames):
        yield stepper.step(program, f, sound(f / fps) if sound else {})


def render_frames(
    script: Path,
    frames: int,
    out_dir: Path,
    sets: dict[str, str] | None = None,
    device: str = "auto",
    cpu_bf16: bool = False,
) -> list[Path]:
    """`gencode render live.gen --frames N`: frames/NNNN.png and NAME.mp4 in `out_dir`."""
    program = load(script, sets)
    shown = list(stream(program, frames, pipeline(device, cpu_bf16=cpu_bf16)))
    return _write(out_dir, script.stem, shown, float(program.settings["fps"]))


def replay(
    set_path: Path,
    out_dir: Path,
    forced: dict[str, Any] | None = None,
    device: str = "auto",
    cpu_bf16: bool = False,
    progress: Progress | None = None,
    threads: int | None = None,
) -> Replayed:
    """Re-render a recorded set; `forced` settings (size, steps) re-render it at another quality.
    It renders with the recording's thread count (pixels depend on it) unless `threads` says."""
    doc = read(set_path)
    forced = {**doc.get("forced", {}), **(forced or {})}
    result = Replayed()
    recorded = (doc.get("environment") or {}).get("threads")
    if threads is None and isinstance(recorded, int) and recorded > 0:
        threads = recorded
    stepper = Stepper(pipeline(device, cpu_bf16=cpu_bf16, threads=threads))
    programs = sorted(doc["programs"], key=lambda p: p["frame"])
    events = sorted(doc["events"], key=lambda e: e["frame"])
    signals: dict[str, float] = {}
    shown_all: list[Shown] = []
    current: Program | None = None
    with tempfile.TemporaryDirectory(prefix="gencode-replay-") as scratch:
        for i, (f, sha) in enumerate(doc["frames"]):
            while programs and programs[0]["frame"] <= f:
                entry = programs.pop(0)
                current = _program(entry, doc, Path(scratch), forced)
                if entry.get("kind", "save") == "save":
                    stepper.begin(current, f)
                else:
                    stepper.adopt(current)
            while events and events[0]["frame"] <= f:
                e = events.pop(0)
                if e["kind"] == "signal":
                    signals[e["name"]] = float(e["value"])
                elif e["kind"] == "numbers" and current is not None:
                    current = _renumbered(current, e["numbers"])
            if current is None:
                raise ValueError(f"{set_path}: frame {f} comes before any program")
            s = stepper.step(current, f, dict(signals))
            shown_all.append(s)
            result.frames += 1
            if s.sha256 == sha:
                result.matched += 1
            elif result.first_mismatch is None:
                result.first_mismatch = f
            if progress:
                progress(i + 1, len(doc["frames"]))
    name = Path(str(doc["script"])).stem
    result.threads = stepper.executor.threads if stepper.executor is not None else 0
    result.written = _write(out_dir, name, shown_all, float(doc["fps"]))
    return result


def _program(entry: dict, doc: dict, scratch: Path, forced: dict[str, Any]) -> Program:
    """A recorded program version, checked from its recorded text in the script's folder (its
    includes, images and models read from there), or from a copy of its sources when that
    folder is gone (another machine)."""
    sources: dict[str, str] = entry["sources"]
    name = str(doc["script"])
    root = Path(doc["root"])
    if not root.is_dir():
        root = scratch / f"program-{entry['number']}"
        _materialize(root, sources)
    numbers = {(int(a), int(b)): float(v) for a, b, v in entry.get("numbers", [])}
    program = load(root / name, doc.get("sets") or {}, numbers, forced, sources[name])
    for rel, text in program.sources().items():
        if rel in sources and sources[rel] != text:
            raise ValueError(f"{root / rel} changed since the set was recorded")
    program.number = int(entry["number"])
    return program


def _renumbered(program: Program, numbers: list[list[float]]) -> Program:
    """A slider's values, rebound as the engine's fast path did (a literal it could not rebind
    there went live as a checked program, whose entry already carries it)."""
    for line, column, value in numbers:
        program = rebind(program, int(line), int(column), float(value)) or program
    return program


def _materialize(folder: Path, sources: dict[str, str]) -> None:
    """The recorded files, at their places relative to the script, in `folder`."""
    folder.mkdir(parents=True)
    for rel, text in sources.items():
        target = (folder / rel).resolve()
        if not target.is_relative_to(folder.resolve()):
            raise ValueError(f"the set log names a file outside its folder: {rel}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def _write(out_dir: Path, name: str, shown: list[Shown], fps: float) -> list[Path]:
    import numpy as np

    frames_dir = out_dir / "frames"
    frames_dir.mkdir(parents=True, exist_ok=True)
    written = [write_still(frames_dir / f"{s.frame:04}.png", s.pixels) for s in shown]
    if shown:
        # In real time: a frame the stream dropped shows the picture before it.
        periods = [b.frame - a.frame for a, b in zip(shown, shown[1:], strict=False)] + [1]
        video = np.stack([s.pixels for s, n in zip(shown, periods, strict=True) for _ in range(n)])
        written.append(write_mp4(out_dir / f"{name}.mp4", video, fps))
    return written
