"""Video files: GIF and MP4 (H.264, with an optional AAC soundtrack cut or padded to the video's
exact length) written atomically, each able to carry a provenance record as its comment; reading
them back (frames, an MP4's tags).

Each animation is encoded once. A record that names the pixels a reader will decode (a GIF's
palette, an MP4's yuv420p) is made from the encoded file itself, then put in its slot without
encoding again: a GIF comment extension spliced into the bytes, an MP4 remuxed (`-c copy`).
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import imageio.v3 as iio
import imageio_ffmpeg
import numpy as np

from gencode.files import FileProblem, audio_format, open_regular
from gencode.graph import canonical
from gencode.limits import MAX_AUDIO_BYTES
from gencode.outputs_paths import FORMATS, GIF_MIN_DELAY_CS
from gencode.runtime.outdir import Opener, OutputError, atomic_file
from gencode.runtime.scratch import scratch_dir

AAC_BITRATE = "192k"  # transparent for music at 44.1/48 kHz stereo
# A record, or how to make it from the pixels a reader decodes from the encoded file.
Record = dict | Callable[[np.ndarray], dict | None] | None


def _resolve(record: Record, decoded: Callable[[], np.ndarray]) -> dict | None:
    return record(decoded()) if callable(record) else record


def gif_durations(n: int, fps: float) -> list[int]:
    """Per-frame GIF delays in ms: GIF counts in 1/100 s, so 12 fps alternates 80 and 90 ms to
    keep the total exact; at least 20 ms, since browsers slow shorter delays to 100 ms."""
    ticks = [round(i * 100 / fps) for i in range(n + 1)]  # frame start times in centiseconds
    return [max(GIF_MIN_DELAY_CS, b - a) * 10 for a, b in zip(ticks, ticks[1:], strict=False)]


def write_gif(
    path: Path,
    frames: np.ndarray,
    fps: float,
    record: Record = None,
    opener: Opener = atomic_file,
) -> Path:
    """A GIF that loops forever at `fps`. Pillow merges identical consecutive frames into one
    longer frame, so the file may hold fewer frames than given, with the same playback."""
    _check_frames(path, frames, fps)
    opts: dict = {"duration": gif_durations(len(frames), fps), "loop": 0}
    data = iio.imwrite("<bytes>", frames, extension=".gif", plugin="pillow", **opts)
    rec = _resolve(record, lambda: decode_gif(data))
    if rec is not None:
        data = with_gif_comment(data, canonical(rec).encode())
    with opener(Path(path)) as f:
        f.write(data)
    return Path(path)


def write_mp4(
    path: Path,
    frames: np.ndarray,
    fps: float,
    record: Record = None,
    audio: Path | None = None,
    opener: Opener = atomic_file,
) -> Path:
    """An H.264 MP4 (yuv420p, plays everywhere) with exactly these frames at exactly `fps`,
    and `audio` (a WAV, FLAC, Ogg or MP3 file) as an AAC track of exactly the video's length."""
    _check_frames(path, frames, fps)
    # yuv420p needs even sides: repeat the last row/column instead of rescaling the picture.
    h, w = frames.shape[1:3]
    frames = np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    with scratch_dir() as scratch:
        track = _private_audio(Path(path), audio, Path(scratch)) if audio is not None else None
        cmd = _mp4_command(frames.shape[2], frames.shape[1], fps, track, len(frames))
        video = Path(scratch) / "video.mp4"
        _run_ffmpeg(cmd + [str(video)], frames)
        meta = _ffmetadata(Path(scratch), _resolve(record, lambda: decode_mp4(video)))
        if meta is not None:  # the tags, muxed in without encoding again
            tagged = Path(scratch) / "tagged.mp4"
            _run_ffmpeg(_tag_command(video, meta, tagged), None)
            video = tagged
        with opener(Path(path)) as f, open(video, "rb") as src:
            shutil.copyfileobj(src, f, 1 << 20)
    return Path(path)


def _private_audio(path: Path, audio: Path, scratch: Path) -> tuple[Path, str]:
    """A copy of the soundtrack in the private scratch folder and its demuxer, told from its
    bytes: ffmpeg then opens exactly that file as exactly that format, so a playlist naming
    other files (`../secret/song.ts`) is refused, never followed."""
    try:
        fmt = audio_format(Path(audio), MAX_AUDIO_BYTES)
        copy = scratch / f"audio.{fmt}"
        with open_regular(Path(audio), MAX_AUDIO_BYTES, "audio file") as src, open(copy, "wb") as f:
            shutil.copyfileobj(src, f, 1 << 20)
    except FileProblem as e:
        raise OutputError(f"{path}: soundtrack {e}") from None
    return copy, fmt


def _mp4_command(
    w: int, h: int, fps: float, audio: tuple[Path, str] | None = None, n: int = 0
) -> list[str]:
    """ffmpeg reading raw RGB frames on stdin at `fps` (a rational, so 29.97 stays exact), then
    `audio`, encoding with the .mp4 format's settings."""
    x264 = FORMATS[".mp4"].options
    rate = Fraction(fps).limit_denominator(1001)
    inputs = [
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(rate), "-i", "-",
    ]  # fmt: skip
    if audio is not None:  # the demuxer forced and only plain files allowed: nothing else opens
        inputs += ["-f", audio[1], "-protocol_whitelist", "file", "-i", str(audio[0])]
    return [
        imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-v", "error", "-nostdin", *inputs,
        *_audio_args(audio, n / rate),
        "-c:v", x264["codec"], "-pix_fmt", x264["pix_fmt"], "-crf", str(x264["crf"]),
        "-preset", x264["preset"], "-movflags", "+faststart",
    ]  # fmt: skip


def _tag_command(video: Path, meta: Path, out: Path) -> list[str]:
    """ffmpeg copying every stream of `video` (no encoding) with the tags of `meta` (an
    ffmetadata file: a record of any size fits)."""
    return [
        imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-v", "error", "-nostdin",
        "-i", str(video), "-f", "ffmetadata", "-i", str(meta),
        "-map", "0", "-map_metadata", "1", "-c", "copy", "-movflags", "+faststart", str(out),
    ]  # fmt: skip


def _audio_args(audio: tuple[Path, str] | None, duration: Fraction) -> list[str]:
    """ffmpeg arguments muxing input 1 as AAC cut or padded to `duration` seconds (none: -an)."""
    if audio is None:
        return ["-an"]
    # Not -shortest (it ends the clip with the shorter stream, dropping frames or cutting the
    # sound late): the track is padded with silence, then trimmed to the frames' exact length.
    seconds = f"{float(duration):.6f}"
    return [
        "-map", "0:v:0", "-map", "1:a:0",
        "-af", f"apad,atrim=end={seconds}", "-c:a", "aac", "-b:a", AAC_BITRATE,
    ]  # fmt: skip


def _ffmetadata(folder: Path, record: dict | None) -> Path | None:
    """An ffmetadata file in `folder` tagging the video's `comment` with the record."""
    if record is None:
        return None
    # ffmetadata escapes '=', ';', '#', '\' and newlines with a backslash.
    text = re.sub(r"([=;#\\\n])", r"\\\1", canonical(record))
    path = folder / "tags.txt"
    path.write_text(f";FFMETADATA1\ncomment={text}\n", encoding="utf-8")
    return path


def _run_ffmpeg(cmd: list[str], frames: np.ndarray | None) -> None:
    """Run ffmpeg, piping it the frames (if any); its exit status is checked (imageio-ffmpeg
    ignores it)."""
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)  # fmt: skip
    try:
        # A flat byte view of the frames, no copy: communicate() slices it as it writes.
        data = None if frames is None else memoryview(np.ascontiguousarray(frames).reshape(-1))
        _, err = proc.communicate(data)
    except BaseException:
        proc.kill()  # Ctrl-C or a failure mid-stream: no ffmpeg left finishing a stale file
        proc.wait()
        raise
    if proc.returncode != 0:
        why = err.decode(errors="replace").strip()[-800:]
        raise OutputError(f"ffmpeg could not write the MP4 (exit {proc.returncode}): {why}")


def _check_frames(path: Path, frames: np.ndarray, fps: float) -> None:
    if frames.ndim != 4 or len(frames) == 0:
        raise OutputError(f"{path}: an animation needs at least one frame")
    if not fps or fps <= 0:
        raise OutputError(f"{path}: fps must be positive, got {fps}")


def mp4_tags(path: Path) -> dict[str, str]:
    """A video's container tags, read with the bundled ffmpeg's ffmetadata output (an MP4 demuxer
    forced, plain files only: a file named .mp4 that is a playlist opens nothing else)."""
    try:
        with open_regular(Path(path), 1 << 62, "video"):
            pass  # a FIFO or a device would block ffmpeg forever
    except FileProblem as e:
        raise OutputError(str(e)) from None
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "mp4", "-protocol_whitelist",
           "file", "-i", str(path), "-f", "ffmetadata", "-"]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, check=False)
    if result.returncode != 0:
        why = result.stderr.decode(errors="replace").strip()
        raise OutputError(f"{path}: not a readable video ({why})")
    text = result.stdout.decode("utf-8", "replace")
    tags = {}
    # ffmetadata escapes '=', ';', '#', '\' and newlines with a backslash.
    for line in re.split(r"(?<!\\)\n", text):
        key, sep, value = line.partition("=")
        if sep and not key.startswith((";", "[")):
            tags[key] = re.sub(r"\\(.)", r"\1", value, flags=re.DOTALL)
    return tags


# ---- reading frames back, and the GIF comment -------------------------------------------------


def decode_gif(data: bytes) -> np.ndarray:
    """A GIF's frames as a reader decodes them: (N, H, W, 3) uint8 RGB."""
    from PIL import Image, ImageSequence

    with Image.open(io.BytesIO(data)) as img:
        return np.stack([np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(img)])


def decode_mp4(path: Path) -> np.ndarray:
    """An MP4's frames, decoded by the bundled ffmpeg as rgb24: (N, H, W, 3) uint8."""
    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
    meta = next(reader)
    w, h = meta["size"]
    frames = [np.frombuffer(f, np.uint8).reshape(h, w, 3) for f in reader]
    if not frames:
        raise ValueError("the video holds no frames")
    return np.stack(frames)


def with_gif_comment(data: bytes, comment: bytes) -> bytes:
    """The GIF with a comment extension after its global colour table (no pixel touched)."""
    if data[:6] not in (b"GIF89a", b"GIF87a"):
        raise OutputError("not a GIF stream")
    packed = data[10]
    end = 13 + (3 * 2 ** ((packed & 7) + 1) if packed & 0x80 else 0)
    blocks = b"".join(
        bytes([len(chunk)]) + chunk
        for chunk in (comment[i : i + 255] for i in range(0, len(comment), 255))
    )
    return b"GIF89a" + data[6:end] + b"\x21\xfe" + blocks + b"\x00" + data[end:]
