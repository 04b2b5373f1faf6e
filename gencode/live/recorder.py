"""Recorder: the shown frames → `NAME.mp4` (streamed to ffmpeg as they come) + `NAME.set.json`.

Input: uint8 frames (H, W, 3), each with how many frame periods it stayed on screen (a dropped
frame keeps the picture before it up), so the video runs in real time at the stream's fps.
Output: the MP4 (H.264, its `comment` tag carrying the set log) and the set log beside it.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import imageio_ffmpeg
import numpy as np

from gencode.live.setlog import SetLog
from gencode.runtime.atomic import atomic_path
from gencode.runtime.video import _ffmetadata, _mp4_command


class Recorder:
    """Streams frames into an MP4; `close(log)` finishes it and writes the set log."""

    def __init__(self, name: str | Path, fps: float):
        self.mp4 = Path(f"{name}.mp4")
        self.log_path = Path(f"{name}.set.json")
        self.fps = fps
        self._scratch = tempfile.TemporaryDirectory(prefix="gencode-rec-")
        self._raw = Path(self._scratch.name) / "stream.mp4"
        self._proc: subprocess.Popen | None = None
        self._shape: tuple[int, ...] | None = None
        self.frames = 0

    def write(self, pixels: np.ndarray, periods: int = 1) -> None:
        """One picture, on screen for `periods` frame periods."""
        if self._proc is None:
            self._start(pixels.shape)
        if pixels.shape != self._shape:  # a new program at another size: fit the recording's
            pixels = _fit(pixels, self._shape)
        assert self._proc is not None and self._proc.stdin is not None
        data = np.ascontiguousarray(_even(pixels)).tobytes()
        for _ in range(max(1, periods)):
            self._proc.stdin.write(data)
        self.frames += max(1, periods)

    def _start(self, shape: tuple[int, ...]) -> None:
        self._shape = shape
        h, w = _even(np.zeros(shape, np.uint8)).shape[:2]
        cmd = _mp4_command(w, h, self.fps, None) + [str(self._raw)]
        # x264's fastest preset: the encoder must not take CPU from the stream.
        cmd[cmd.index("medium")] = "ultrafast"
        self._proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def close(self, log: SetLog) -> list[Path]:
        """Finish the video, tag it with the set log, write the log; the paths written."""
        written = [log.save(self.log_path)]
        if self._proc is not None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            err = self._proc.stderr.read() if self._proc.stderr else b""
            if self._proc.wait() != 0:
                raise OSError(f"ffmpeg could not record the stream: {err.decode()[-400:]}")
            meta = _ffmetadata(Path(self._scratch.name), log.to_json())
            assert meta is not None
            with atomic_path(self.mp4) as tmp:
                subprocess.run(
                    [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-v", "error", "-i", str(self._raw),
                     "-f", "ffmetadata", "-i", str(meta), "-map_metadata", "1", "-c", "copy",
                     "-movflags", "+faststart", "-f", "mp4", str(tmp)],
                    check=True, capture_output=True,
                )  # fmt: skip
            written.insert(0, self.mp4)
        self._scratch.cleanup()
        return written


def _even(pixels: np.ndarray) -> np.ndarray:
    """yuv420p needs even sides: repeat the last row/column."""
    h, w = pixels.shape[:2]
    return np.pad(pixels, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def _fit(pixels: np.ndarray, shape: tuple[int, ...] | None) -> np.ndarray:
    from PIL import Image

    assert shape is not None
    return np.asarray(
        Image.fromarray(pixels).resize((shape[1], shape[0]), Image.Resampling.BILINEAR)
    )
