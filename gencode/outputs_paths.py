"""Output formats and paths: the one table of file formats gencode writes (below both the
writers in gencode.runtime and the records in gencode.provenance), and what `save` may write
(frame patterns, confinement). Torch-free.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from gencode.files import path_text_problem
from gencode.limits import MAX_FRAME_WIDTH


@dataclass(frozen=True)
class Format:
    """A file format: how it is written and where its record goes."""

    suffix: str
    kind: str  # "still" | "animation"
    lossless: bool  # a reader decodes exactly the rendered pixels
    slot: str  # where the provenance record is embedded
    encoder: str  # Pillow's format name (stills, GIF) or "ffmpeg"
    options: dict[str, Any] = field(default_factory=dict)  # the encoder's settings


# JPEG keeps 4:4:4 chroma (small generated images lose visible colour detail at 4:2:0); WebP is
# lossless (a render reproduces bit for bit); x264 at CRF 18 is visually lossless, yuv420p plays
# everywhere.
_JPEG = {"quality": 95, "subsampling": 0}
FORMATS: dict[str, Format] = {
    f.suffix: f
    for f in (
        Format(".png", "still", True, "iTXt 'gencode' + tEXt 'parameters' (A1111)", "PNG"),
        Format(".jpg", "still", False, "JPEG comment (COM segment)", "JPEG", _JPEG),
        Format(".jpeg", "still", False, "JPEG comment (COM segment)", "JPEG", _JPEG),
        Format(
            ".webp",
            "still",
            True,
            "EXIF ImageDescription",
            "WEBP",
            {"lossless": True, "quality": 100, "method": 4},
        ),
        Format(".gif", "animation", False, "GIF comment extension", "GIF"),
        Format(
            ".mp4",
            "animation",
            False,
            "MP4 'comment' tag",
            "ffmpeg",
            {"codec": "libx264", "pix_fmt": "yuv420p", "crf": 18, "preset": "medium"},
        ),
    )
}
STILL_FORMATS = tuple(s for s, f in FORMATS.items() if f.kind == "still")
ANIMATION_FORMATS = tuple(s for s, f in FORMATS.items() if f.kind == "animation")


def format_of(path: str) -> Format | None:
    """The format a file name asks for, by its suffix (any case)."""
    return FORMATS.get(PurePosixPath(str(path)).suffix.lower())


# GIF frame delays count in 1/100 s, and browsers slow a delay under 2 of them to 10: a GIF plays
# at most 50 fps (an .mp4 keeps any rate).
GIF_MIN_DELAY_CS = 2
GIF_MAX_FPS = 100 / GIF_MIN_DELAY_CS


def played_fps(path: str, fps: float) -> float:
    """The rate a file of this name plays at: a GIF caps it (see GIF_MAX_FPS)."""
    return min(fps, GIF_MAX_FPS) if PurePosixPath(path).suffix.lower() == ".gif" else fps


_FIELD = re.compile(r"\{([^{}]*)\}")


def path_problem(text: str, is_sequence: bool) -> str | None:
    """Why `text` can't be a save path for this value, or None when it can."""
    p = PurePosixPath(text.replace("\\", "/"))
    if not text or p.is_absolute() or ".." in p.parts:
        return f"'{text}': save paths are relative and stay inside the output folder"
    fields = _FIELD.findall(text)
    for f in fields:
        m = re.fullmatch(r"frame(?::0?(\d+)d?)?", f)
        if not m:
            return f"'{text}': unknown field '{{{f}}}' (use {{frame}} or {{frame:04}})"
        width = (m.group(1) or "").lstrip("0") or "0"
        if len(width) > 4 or int(width) > MAX_FRAME_WIDTH:
            return f"'{text}': a frame number is at most {MAX_FRAME_WIDTH} digits wide"
    # The longest name a frame can get: every field at its full width.
    widest = _FIELD.sub(lambda m: "9" * MAX_FRAME_WIDTH, text)
    problem = path_text_problem(widest)
    if problem:
        return f"{ascii(text)[:80]}: {problem}"
    suffix = p.suffix.lower()
    if suffix not in STILL_FORMATS + ANIMATION_FORMATS:
        return f"'{text}': unknown format '{suffix or '(none)'}' (use {', '.join(STILL_FORMATS + ANIMATION_FORMATS)})"
    if not is_sequence and (fields or suffix in ANIMATION_FORMATS):
        return f"'{text}': a single image is saved as {', '.join(STILL_FORMATS)} without {{frame}}"
    if is_sequence and suffix in STILL_FORMATS and not fields:
        return f"'{text}': a sequence needs {{frame}} in the file name (e.g. frames/{{frame:04}}.png) or a .gif/.mp4"
    return None


def frame_path(pattern: str, frame: int) -> str:
    """The file name of one frame of a pattern like 'frames/{frame:04}.png'."""
    return _FIELD.sub(
        lambda m: format(frame, (m.group(1).split(":", 1) + [""])[1].rstrip("d")), pattern
    )
