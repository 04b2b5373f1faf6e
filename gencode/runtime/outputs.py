"""Outputs: a graph's output values (image tensors) → files: PNG/JPEG/WebP stills, frame
patterns, GIF and MP4, each written atomically and able to carry a metadata record; an MP4 may carry a
soundtrack (AAC), padded with silence or cut to the video's exact length.

Records (provenance) are plain dicts stored as canonical JSON: a PNG iTXt chunk `gencode`
(plus a tEXt `parameters` chunk in A1111's infotext form), a JPEG comment, a WebP EXIF
ImageDescription, a GIF comment extension, an MP4 `comment` tag; with `sidecars`, a GIF or MP4
also gets `<file>.json` holding the record, written after the animation.
"""

from __future__ import annotations

import json
import re
import subprocess
import warnings
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path, PurePosixPath

import imageio.v3 as iio
import imageio_ffmpeg
import numpy as np
import torch
from PIL import Image, PngImagePlugin

from gencode.graph import Graph, Output, canonical
from gencode.outputs_paths import ANIMATION_FORMATS, frame_path
from gencode.runtime.atomic import atomic_path, write_bytes_atomic
from gencode.runtime.ops_image import OpError

# (output, frame index or None for a still or a whole animation, the uint8 pixels written:
# (H, W, 3) or (N, H, W, 3)) → the record to embed in that file, or None.
RecordFn = Callable[[Output, "int | None", np.ndarray], "dict | None"]

RECORD_KEY = "gencode"  # the PNG iTXt keyword
PARAMETERS_KEY = "parameters"  # the PNG tEXt keyword A1111 and its kin read
SIDECAR_SUFFIX = ".json"  # walk.gif → walk.gif.json
_EXIF_DESCRIPTION = 0x010E
_JPEG_COMMENT_MAX = 65533  # one COM segment
_ARG_MAX = 100_000  # ffmpeg gets the MP4 comment on its command line (Linux: 128 KiB per arg)
_STILLS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
MP4_CRF = 18  # visually lossless for x264; generated art has fine gradients worth keeping
AAC_BITRATE = "192k"  # transparent for music at 44.1/48 kHz stereo


class OutputError(OpError):
    """An output could not be written (bad path, bad value, encoder failure)."""


# ---- the graph's outputs ---------------------------------------------------------------------


def write_outputs(
    graph: Graph,
    values: dict[str, torch.Tensor],
    out_dir: Path,
    records: RecordFn | None = None,
    sidecars: bool = False,
    root_dir: Path | None = None,
) -> list[Path]:
    """Write every output of `graph` under `out_dir`; `values` maps node keys (or, as the
    executor's RunResult does, output names) to tensors. Sidecars are not in the list.
    Soundtracks are read from `root_dir` (the script's folder; the working folder if None)."""
    # Every soundtrack is found before the first file is written: a missing one writes nothing.
    tracks = {o.name: audio_path(Path(root_dir or "."), o.audio) for o in graph.outputs if o.audio}
    written: list[Path] = []
    for out in graph.outputs:
        value = values.get(out.node.key, values.get(out.name))
        if value is None:
            raise OutputError(f"output '{out.name}': its value was not computed")
        written += write_output(out, value, Path(out_dir), records, sidecars, tracks.get(out.name))
    return written


def audio_path(root: Path, rel: str) -> Path:
    """The soundtrack file `rel` under `root`, refusing anything outside it or missing."""
    path = (root / rel).resolve()
    if Path(rel).is_absolute() or not path.is_relative_to(root.resolve()):
        raise OutputError(
            f"audio '{rel}': outside the script's folder; scripts read only files beside them"
        )
    if not path.is_file():
        raise OutputError(f"audio '{rel}': no such audio file (looked in {root})")
    return path


def write_output(
    out: Output,
    value: torch.Tensor,
    out_dir: Path,
    records: RecordFn | None = None,
    sidecars: bool = False,
    audio: Path | None = None,
) -> list[Path]:
    """Write one output: a still, a frame per file, an animation, or frames plus an animation;
    `audio` is muxed into its MP4."""
    pixels = to_uint8(value)
    if out.node.type == "image" and pixels.ndim == 4 and len(pixels) == 1:
        pixels = pixels[0]  # a still that arrived as a batch of one

    def record(frame: int | None, px: np.ndarray) -> dict | None:
        return records(out, frame, px) if records else None

    whole = PurePosixPath(out.path).suffix.lower() in ANIMATION_FORMATS  # no frame files
    video = out.path if whole else out.animation
    if audio is not None and (pixels.ndim == 3 or not str(video).lower().endswith(".mp4")):
        raise OutputError(f"output '{out.name}': a soundtrack goes with an .mp4 of frames")
    if pixels.ndim == 3:
        return [write_still(safe_path(out_dir, out.path), pixels, record(None, pixels))]
    if whole:
        path = safe_path(out_dir, out.path)
        return [write_animation(path, pixels, out.fps, record(None, pixels), sidecars, audio)]
    targets = [safe_path(out_dir, frame_path(out.path, i)) for i in range(len(pixels))]
    if len(set(targets)) != len(targets):
        raise OutputError(f"output '{out.name}': '{out.path}' gives several frames one file name")
    pairs = enumerate(zip(targets, pixels, strict=True))
    paths = [write_still(t, px, record(i, px)) for i, (t, px) in pairs]
    if out.animation:
        anim = safe_path(out_dir, out.animation)
        paths.append(write_animation(anim, pixels, out.fps, record(None, pixels), sidecars, audio))
    return paths


def safe_path(out_dir: Path, rel: str) -> Path:
    """`out_dir / rel`, refusing absolute paths, `..` and symlinks that lead outside `out_dir`."""
    p = PurePosixPath(rel.replace("\\", "/"))
    root = Path(out_dir).resolve()
    if not rel or p.is_absolute() or ".." in p.parts or ":" in p.parts[0]:
        raise OutputError(f"'{rel}': output paths are relative and stay inside the output folder")
    full = (root / p).resolve()  # follows symlinks: a linked folder can't smuggle a write out
    if full == root or not full.is_relative_to(root):
        raise OutputError(f"'{rel}': leads outside the output folder {out_dir}")
    return Path(out_dir) / p


# ---- pixels ----------------------------------------------------------------------------------


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """(3, H, W) or (N, 3, H, W) float in [0, 1] → (H, W, 3) or (N, H, W, 3) uint8, rounded."""
    if x.dim() not in (3, 4) or x.shape[-3] not in (1, 3):
        shape = tuple(x.shape)
        raise OutputError(f"expected an image (3, H, W) or frames (N, 3, H, W), not {shape}")
    x = x.detach().to("cpu", torch.float32)
    # Clip before the cast: 1.2 must become 255 and -0.1 must become 0, never wrap around.
    x = torch.nan_to_num(x, nan=0.0).clamp(0.0, 1.0)
    u8 = (x * 255.0).round().to(torch.uint8)
    if u8.shape[-3] == 1:
        u8 = u8.expand(*u8.shape[:-3], 3, *u8.shape[-2:])
    return np.ascontiguousarray(u8.movedim(-3, -1).numpy())


def read_image(path: Path) -> torch.Tensor:
    """The first image in a file as a float (3, H, W) tensor in [0, 1]: `to_uint8`'s inverse."""
    with Image.open(path) as img:
        a = np.asarray(img.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(a.copy()).permute(2, 0, 1).float() / 255.0


# ---- stills ----------------------------------------------------------------------------------


def write_still(path: Path, pixels: np.ndarray, record: dict | None = None) -> Path:
    """Write one (H, W, 3) uint8 image as PNG, JPEG or WebP (by suffix), atomically."""
    fmt = _STILLS.get(Path(path).suffix.lower())
    if fmt is None:
        raise OutputError(f"{path}: unknown image format (use {', '.join(_STILLS)})")
    img = Image.fromarray(np.ascontiguousarray(pixels), "RGB")
    with atomic_path(Path(path)) as tmp:
        img.save(tmp, fmt, **_still_options(fmt, record))
    return Path(path)


def _still_options(fmt: str, record: dict | None) -> dict:
    """Encoder settings per format, with the record in that format's metadata slot."""
    text = canonical(record) if record is not None else None
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        if text is not None:
            info.add_itxt(RECORD_KEY, text)
            if (parameters := _infotext(record)) is not None:
                info.add_text(PARAMETERS_KEY, parameters)
        return {"pnginfo": info}
    if fmt == "JPEG":
        # 4:4:4 chroma: small generated images lose visible colour detail at 4:2:0.
        opts: dict = {"quality": 95, "subsampling": 0}
        if text is not None:
            data = text.encode()
            if len(data) <= _JPEG_COMMENT_MAX:
                opts["comment"] = data
            else:
                warnings.warn(
                    f"record of {len(data)} bytes is too large for a JPEG comment; not embedded",
                    stacklevel=3,
                )
        return opts
    # WebP lossless: exact pixels (so a render can be reproduced bit for bit), still small.
    opts = {"lossless": True, "quality": 100, "method": 4}
    if text is not None:
        exif = Image.Exif()
        exif[_EXIF_DESCRIPTION] = canonical_ascii(record)
        opts["exif"] = exif.tobytes()
    return opts


def _infotext(record: dict | None) -> str | None:
    """A1111's `parameters` text for a gencode record (None for other dicts)."""
    from gencode.provenance.a1111 import infotext

    return infotext(record) if record is not None else None


def canonical_ascii(record: dict) -> str:
    """Canonical JSON escaped to ASCII, for slots (EXIF) that only hold ASCII."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


# ---- animations ------------------------------------------------------------------------------


def write_animation(
    path: Path,
    frames: np.ndarray,
    fps: float,
    record: dict | None = None,
    sidecar: bool = False,
    audio: Path | None = None,
) -> Path:
    """Write (N, H, W, 3) uint8 frames as a GIF or an MP4 (by suffix; an MP4 may carry `audio`),
    atomically; with `sidecar`, the record also goes to `<path>.json`."""
    suffix = Path(path).suffix.lower()
    if audio is not None and suffix != ".mp4":
        raise OutputError(f"{path}: a soundtrack goes with an .mp4, not a {suffix} file")
    if suffix == ".gif":
        written = write_gif(path, frames, fps, record)
    elif suffix == ".mp4":
        written = write_mp4(path, frames, fps, record, audio)
    else:
        raise OutputError(f"{path}: unknown animation format (use .gif or .mp4)")
    if sidecar and record is not None:
        write_bytes_atomic(sidecar_path(written), (canonical(record) + "\n").encode())
    return written


def sidecar_path(path: Path) -> Path:
    """The JSON file beside an animation that holds its record."""
    return Path(path).with_name(Path(path).name + SIDECAR_SUFFIX)


def gif_durations(n: int, fps: float) -> list[int]:
    """Per-frame GIF delays in ms: GIF counts in 1/100 s, so 12 fps alternates 80 and 90 ms to
    keep the total exact; at least 20 ms, since browsers slow shorter delays to 100 ms."""
    ticks = [round(i * 100 / fps) for i in range(n + 1)]  # frame start times in centiseconds
    return [max(2, b - a) * 10 for a, b in zip(ticks, ticks[1:], strict=False)]


def write_gif(path: Path, frames: np.ndarray, fps: float, record: dict | None = None) -> Path:
    """A GIF that loops forever at `fps`. Pillow merges identical consecutive frames into one
    longer frame, so the file may hold fewer frames than given, with the same playback."""
    _check_frames(path, frames, fps)
    opts: dict = {"duration": gif_durations(len(frames), fps), "loop": 0}
    if record is not None:
        opts["comment"] = canonical(record).encode()
    with atomic_path(Path(path)) as tmp:
        iio.imwrite(tmp, frames, extension=".gif", plugin="pillow", **opts)
    return Path(path)


def write_mp4(
    path: Path,
    frames: np.ndarray,
    fps: float,
    record: dict | None = None,
    audio: Path | None = None,
) -> Path:
    """An H.264 MP4 (yuv420p, plays everywhere) with exactly these frames at exactly `fps`,
    and `audio` (any file ffmpeg reads) as an AAC track of exactly the video's length."""
    _check_frames(path, frames, fps)
    if audio is not None and not Path(audio).is_file():
        raise OutputError(f"{path}: no such audio file {audio}")
    # yuv420p needs even sides: repeat the last row/column instead of rescaling the picture.
    h, w = frames.shape[1:3]
    frames = np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    cmd = _mp4_command(frames.shape[2], frames.shape[1], fps, record, audio, len(frames))
    with atomic_path(Path(path)) as tmp:
        _run_ffmpeg(cmd + [str(tmp)], frames)
    return Path(path)


def _mp4_command(
    w: int, h: int, fps: float, record: dict | None, audio: Path | None = None, n: int = 0
) -> list[str]:
    """ffmpeg reading raw RGB frames on stdin at `fps` (a rational, so 29.97 stays exact)."""
    rate = Fraction(fps).limit_denominator(1001)
    return [
        imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-v", "error", "-nostdin",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(rate), "-i", "-",
        *_audio_args(audio, n / rate),
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", str(MP4_CRF), "-preset", "medium",
        "-movflags", "+faststart", *_mp4_comment(record),
    ]  # fmt: skip


def _audio_args(audio: Path | None, duration: Fraction) -> list[str]:
    """ffmpeg arguments muxing `audio` as AAC cut or padded to `duration` seconds (no audio: -an)."""
    if audio is None:
        return ["-an"]
    # Not -shortest (it ends the clip with the shorter stream, dropping frames or cutting the
    # sound late): the track is padded with silence, then trimmed to the frames' exact length.
    seconds = f"{float(duration):.6f}"
    return [
        "-i", str(audio), "-map", "0:v:0", "-map", "1:a:0",
        "-af", f"apad,atrim=end={seconds}", "-c:a", "aac", "-b:a", AAC_BITRATE,
    ]  # fmt: skip


def _run_ffmpeg(cmd: list[str], frames: np.ndarray) -> None:
    """Pipe the frames through ffmpeg; its exit status is checked (imageio-ffmpeg ignores it)."""
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)  # fmt: skip
    try:
        # A flat byte view of the frames, no copy: communicate() slices it as it writes.
        _, err = proc.communicate(memoryview(np.ascontiguousarray(frames).reshape(-1)))
    except BaseException:
        proc.kill()  # Ctrl-C or a failure mid-stream: no ffmpeg left finishing a stale file
        proc.wait()
        raise
    if proc.returncode != 0:
        why = err.decode(errors="replace").strip()[-800:]
        raise OutputError(f"ffmpeg could not write the MP4 (exit {proc.returncode}): {why}")


def _mp4_comment(record: dict | None) -> list[str]:
    """ffmpeg arguments tagging the MP4 with the record, when it fits on a command line."""
    if record is None:
        return []
    text = canonical(record)
    if len(text.encode()) > _ARG_MAX:
        # TODO(provenance): pass large records through an ffmetadata file input instead.
        warnings.warn(
            f"record of {len(text)} characters too large for an MP4 tag; not embedded", stacklevel=4
        )
        return []
    return ["-metadata", f"comment={text}"]


def _check_frames(path: Path, frames: np.ndarray, fps: float) -> None:
    if frames.ndim != 4 or len(frames) == 0:
        raise OutputError(f"{path}: an animation needs at least one frame")
    if not fps or fps <= 0:
        raise OutputError(f"{path}: fps must be positive, got {fps}")


# ---- reading records back --------------------------------------------------------------------


def read_record(path: Path) -> dict | None:
    """The record embedded in a file written here, or None when it carries none."""
    path = Path(path)
    if path.suffix.lower() == ".mp4":
        text = _mp4_tags(path).get("comment")
    else:
        with Image.open(path) as img:
            text = img.info.get(RECORD_KEY) or img.info.get("comment")
            if text is None and img.format == "WEBP":
                text = img.getexif().get(_EXIF_DESCRIPTION)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    try:
        record = json.loads(text) if text else None
    except json.JSONDecodeError:
        return None  # a comment from some other tool
    return record if isinstance(record, dict) else None


def _mp4_tags(path: Path) -> dict[str, str]:
    """A video's container tags, read with the bundled ffmpeg's ffmetadata output."""
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "ffmetadata", "-"]
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
