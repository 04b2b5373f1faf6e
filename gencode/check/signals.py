"""Signals in expressions: `midi.cc 1`, `midi.note 60`, `osc "/x"`, `audio.bass` → a frame
expression that reads the signal live (see gencode/signals/names.py for the table); and the
`audio "track.wav"` statement → the file that drives audio.* (the program's `audio`).

An unknown signal is an error with a did-you-mean; an argument is checked against its kind and
range (a MIDI number 0..127, an OSC address starting with '/'). The audio file must be a PCM
WAV inside the script's folder.
"""

from __future__ import annotations

import wave
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from gencode import ast
from gencode import types as T
from gencode.check.frame_expr import FrameExpr
from gencode.check.state import State
from gencode.errors import did_you_mean
from gencode.files import FileProblem, audio_format
from gencode.ir import Const
from gencode.limits import MAX_AUDIO_BYTES
from gencode.signals.names import SIGNALS, SignalDef, key

EXAMPLE = {"number": "1", "string": '"/x"'}


def signal(state: State, e: ast.Name | ast.Call) -> FrameExpr:
    """The frame expression reading the signal `e` names."""
    name, words = (e, ()) if isinstance(e, ast.Name) else (e.name, e.words)
    d = SIGNALS.get(name.id)
    if d is None:
        hint = did_you_mean(name.id, SIGNALS)
        raise state.error(name.span, f"unknown signal '{name.id}'{hint}")
    arg = _argument(state, d, name, words)
    fps, bpm = float(state.setting("fps")), float(state.setting("bpm"))
    return FrameExpr(("sig", key(d.name, arg), 0.0), fps, bpm, e.span)


def _argument(
    state: State, d: SignalDef, name: ast.Name, words: tuple[ast.Expr, ...]
) -> float | str | None:
    if d.arg is None:
        if words:
            raise state.error(words[0].span, f"'{d.name}' takes no argument")
        return None
    if len(words) != 1:
        where = words[1].span if words else name.span
        raise state.error(where, f"'{d.name}' takes one {d.arg}, like {d.name} {EXAMPLE[d.arg]}")
    from gencode.check.exprs import evaluate

    v = evaluate(state, words[0])
    if d.arg == "number":
        x = float(v.value) if isinstance(v, Const) and v.type == T.NUMBER else None
        if x is None or not x.is_integer() or not d.lo <= x <= d.hi:
            raise state.error(
                words[0].span, f"'{d.name}' takes a whole number from {d.lo} to {d.hi}"
            )
        return x
    if not (isinstance(v, Const) and v.type == T.STRING and str(v.value).startswith("/")):
        raise state.error(words[0].span, f"'{d.name}' takes an address string like \"/x\"")
    return str(v.value)


def audio_track(state: State, e: ast.Call) -> None:
    """`audio "track.wav"`: the script's sound (one per script), checked and kept as a path
    relative to the script's folder."""
    from gencode.check.calls import bind_arguments
    from gencode.check.rules import confined_path
    from gencode.ops.table import SIGNATURES

    path = bind_arguments(state, SIGNATURES["audio"], e)["path"]
    assert isinstance(path, Const)  # a required string
    if state.audio is not None:
        first = state.audio.span
        raise state.error(path.span, f"one audio file per script (the first is at {first})")
    name = str(path.value)
    file = confined_path(state, name, path.span)
    try:
        kind = audio_format(file, MAX_AUDIO_BYTES)
    except FileProblem as p:
        if p.missing:
            raise state.error(path.span, f"no such audio file: {name}") from None
        raise state.error(path.span, f"audio '{name}': {p.why}") from None
    problem = _wav_problem(file) if kind == "wav" else f"{kind.upper()} is not read here"
    if problem:
        fix = "ffmpeg -i IN -c:a pcm_s16le OUT.wav makes a WAV the stream reads"
        raise state.error(path.span, f"audio '{name}': {problem}; {fix}")
    state.audio = Const(T.STRING, file.relative_to(state.root_dir).as_posix(), path.span)


def _wav_problem(file) -> str | None:
    """Why the stream can't analyse this WAV (compressed, float, empty), or None."""
    try:
        with wave.open(str(file), "rb") as w:
            if w.getsampwidth() not in (1, 2, 3, 4):
                return f"{8 * w.getsampwidth()}-bit samples are not read"
            if w.getnframes() == 0:
                return "the file holds no sound"
    except (wave.Error, EOFError) as e:
        return f"not a PCM WAV file ({e})"
    return None


def offline_signals(state: State, fe: FrameExpr, frame: float) -> Mapping[str, float] | None:
    """What a frame expression evaluated while checking (a finite `animate`'s numbers) reads at
    `frame`: the `audio` file named above it, at the frame's time, as the stream reads it."""
    if state.audio is None or not any(k.startswith("audio.") for k in fe.signals()):
        return None
    file = state.root_dir / str(state.audio.value)
    stat = file.stat()
    return _track(file, stat.st_mtime_ns, stat.st_size)(frame / fe.fps)


@lru_cache(maxsize=4)
def _track(file: Path, mtime_ns: int, size: int):  # the file's version is part of the key
    from gencode.signals.audio import track_signals

    return track_signals(file.parent, file.name)
