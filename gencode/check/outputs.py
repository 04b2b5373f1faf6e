"""Checks over a program's outputs as a whole, after every statement: two saves writing one file,
and animation rates a format cannot store. Input: the checker's State. Output: diagnostics."""

from __future__ import annotations

from pathlib import Path

from gencode import types as T
from gencode.check.state import State
from gencode.ir import CheckedOutput
from gencode.outputs_paths import GIF_MAX_FPS


def check_collisions(state: State) -> None:
    """Two saves that would write one file (`save "x.png"` twice, a frame pattern meeting a
    still) are an error naming both lines: one would silently overwrite the other."""
    owner: dict[str, CheckedOutput] = {}
    for out in state.outputs:
        for file in saved_files(out):
            first = owner.setdefault(file, out)
            if first is not out:
                where = f"line {first.span.line}" if first.span.file == out.span.file else f"{Path(first.span.file).name}:{first.span.line}"  # fmt: skip
                state.error(out.span, f"'{file}' is also written by the save on {where}: one output would overwrite the other")  # fmt: skip
                break


def saved_files(out: CheckedOutput) -> list[str]:
    """The files a `save` writes, relative to the output folder (none for a default name)."""
    from pathlib import PurePosixPath

    from gencode.outputs_paths import ANIMATION_FORMATS, frame_path

    if out.path is None:
        return []  # default names are made unique when compiled
    path = PurePosixPath(out.path.replace("\\", "/"))
    frames = out.value.type == T.IMAGES and path.suffix.lower() not in ANIMATION_FORMATS
    if frames and out.value.length:
        return [PurePosixPath(frame_path(str(path), i)).as_posix() for i in range(out.value.length)]
    return [path.as_posix()]


def warn_gif_rates(state: State) -> None:
    """Warn where a sequence goes to a GIF at a rate GIF cannot store (it plays slower)."""
    for out in state.outputs:
        gif = out.path is None or out.path.lower().endswith(".gif")  # unsaved: a preview GIF
        if out.value.length and gif and out.fps > GIF_MAX_FPS:
            state.note(
                out.span,
                f"a GIF plays at most {GIF_MAX_FPS:g} fps (its frame delays count in 1/100 s): "
                f"fps {out.fps:g} becomes {GIF_MAX_FPS:g} there; save an .mp4 to keep {out.fps:g}",
                "warning",
            )
