"""Pixels as a file holds them: the uint8 array a reader decodes, and its sha256.

Input: rendered uint8 pixels and the format they are written in, or a written file.
Output: the decoded (H, W, 3) or (N, H, W, 3) uint8 array. PNG and WebP are lossless, so the
decoded pixels are the rendered ones; JPEG, GIF (a 256-colour palette) and MP4 (yuv420p) are
not, so `as_written` encodes in memory or in a temp folder exactly as the writer does, and
decodes that: a record's pixel hash then matches what `verify` decodes from the file.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageSequence

from gencode.outputs_paths import FORMATS
from gencode.runtime.video import decode_mp4


class UnreadableImage(Exception):
    """A file that can't be decoded: truncated, corrupt, or not an image."""


def pixel_sha256(pixels: np.ndarray) -> str:
    """sha256 of the uint8 pixels in C order (the shape is recorded beside it)."""
    return hashlib.sha256(np.ascontiguousarray(pixels, dtype=np.uint8).tobytes()).hexdigest()


def decode_file(path: Path) -> np.ndarray:
    """Every frame a file holds, as uint8 RGB: (H, W, 3) for a still, (N, H, W, 3) otherwise."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".mp4":
            return decode_mp4(path)
        with Image.open(path) as img:
            if path.suffix.lower() == ".gif":
                return np.stack([np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(img)])
            return np.asarray(img.convert("RGB"), dtype=np.uint8)
    except (OSError, ValueError, SyntaxError, RuntimeError) as e:
        raise UnreadableImage(f"can't decode the pixels ({e})") from None


def as_written(pixels: np.ndarray, suffix: str, fps: float = 10.0) -> np.ndarray:
    """The pixels a reader will decode once `pixels` are written in this format."""
    suffix = suffix.lower()
    fmt = FORMATS.get(suffix)
    if fmt is not None and fmt.lossless:
        return pixels
    if suffix in (".jpg", ".jpeg"):
        from gencode.runtime.outputs import still_options

        buf = io.BytesIO()
        Image.fromarray(pixels, "RGB").save(buf, "JPEG", **still_options("JPEG", None))
        with Image.open(buf) as img:
            return np.asarray(img.convert("RGB"), dtype=np.uint8)
    if suffix in (".gif", ".mp4"):
        # The writers themselves, into a scratch folder: the same encoder, the same settings.
        from gencode.runtime.outputs import write_animation
        from gencode.runtime.scratch import scratch_dir

        with scratch_dir() as tmp:
            path = write_animation(Path(tmp) / f"x{suffix}", pixels, fps)
            return decode_file(path)
    raise ValueError(f"unknown format '{suffix}'")
