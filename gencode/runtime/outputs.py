"""Outputs: a graph's output values (image tensors) → files: PNG/JPEG/WebP stills, frame
patterns, GIF and MP4 (encoded in gencode.runtime.video), each written atomically and able to carry
a metadata record.

Records (provenance) are plain dicts stored as canonical JSON: a PNG iTXt chunk `gencode`
(plus a tEXt `parameters` chunk in A1111's infotext form), a JPEG comment, a WebP EXIF
ImageDescription, a GIF comment extension, an MP4 `comment` tag; with `sidecars`, a GIF or MP4
also gets `<file>.json` holding the record, written after the animation.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import numpy as np
import torch
from PIL import Image, PngImagePlugin

from gencode.files import FileProblem, loads_json, open_regular
from gencode.graph import Graph, Output, canonical
from gencode.limits import MAX_IMAGE_BYTES
from gencode.outputs_paths import ANIMATION_FORMATS, FORMATS, STILL_FORMATS, format_of, frame_path
from gencode.runtime.outdir import Opener, OutDir, OutputError, atomic_file, safe_path
from gencode.runtime.video import Record, gif_durations, mp4_tags, write_gif, write_mp4

# re-exported: where callers have always found them
__all__ = ["OutputError", "gif_durations", "safe_path", "write_gif", "write_mp4"]

# (output, frame index or None for a still or a whole animation, the uint8 pixels written:
# (H, W, 3) or (N, H, W, 3), and — for a lossy animation — the pixels a reader decodes from the
# file, told by the one encode that wrote it) → the record to embed in that file, or None.
RecordFn = Callable[[Output, "int | None", np.ndarray, "np.ndarray | None"], "dict | None"]

RECORD_KEY = "gencode"  # the PNG iTXt keyword
PARAMETERS_KEY = "parameters"  # the PNG tEXt keyword A1111 and its kin read
SIDECAR_SUFFIX = ".json"  # walk.gif → walk.gif.json
_EXIF_DESCRIPTION = 0x010E
_JPEG_COMMENT_MAX = 65533  # one COM segment


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
    with OutDir(Path(out_dir)) as folder:  # every file reached through it: no symlink swap
        for out in graph.outputs:
            value = values.get(out.node.key, values.get(out.name))
            if value is None:
                raise OutputError(f"output '{out.name}': its value was not computed")
            written += write_output(
                out, value, Path(out_dir), records, sidecars, tracks.get(out.name), folder.open
            )
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
    opener: Opener = atomic_file,
) -> list[Path]:
    """Write one output: a still, a frame per file, an animation, or frames plus an animation;
    `audio` is muxed into its MP4; each file is written through `opener`."""
    pixels = to_uint8(value)
    if out.node.type == "image" and pixels.ndim == 4 and len(pixels) == 1:
        pixels = pixels[0]  # a still that arrived as a batch of one

    def record(frame: int | None, px: np.ndarray) -> dict | None:
        return records(out, frame, px, None) if records else None

    def told(decoded: np.ndarray) -> dict | None:  # an animation's, once it is encoded
        return records(out, None, pixels, decoded) if records else None

    whole = PurePosixPath(out.path).suffix.lower() in ANIMATION_FORMATS  # no frame files
    video = out.path if whole else out.animation
    if audio is not None and (pixels.ndim == 3 or not str(video).lower().endswith(".mp4")):
        raise OutputError(f"output '{out.name}': a soundtrack goes with an .mp4 of frames")
    if pixels.ndim == 3:
        return [write_still(safe_path(out_dir, out.path), pixels, record(None, pixels), opener)]
    if whole:
        path = safe_path(out_dir, out.path)
        return [write_animation(path, pixels, out.fps, told, sidecars, audio, opener)]
    targets = [safe_path(out_dir, frame_path(out.path, i)) for i in range(len(pixels))]
    if len(set(targets)) != len(targets):
        raise OutputError(f"output '{out.name}': '{out.path}' gives several frames one file name")
    pairs = enumerate(zip(targets, pixels, strict=True))
    paths = [write_still(t, px, record(i, px), opener) for i, (t, px) in pairs]
    if out.animation:
        anim = safe_path(out_dir, out.animation)
        paths.append(write_animation(anim, pixels, out.fps, told, sidecars, audio, opener))
    return paths


# ---- pixels ----------------------------------------------------------------------------------


def to_uint8(x: torch.Tensor | np.ndarray) -> np.ndarray:
    """(3, H, W) or (N, 3, H, W) float in [0, 1] → (H, W, 3) or (N, H, W, 3) uint8, rounded."""
    if isinstance(x, np.ndarray) and x.dtype == np.uint8 and x.ndim in (3, 4) and x.shape[-1] == 3:
        return x  # converted already, by this function on another machine (a Ray worker)
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


def write_still(
    path: Path, pixels: np.ndarray, record: dict | None = None, opener: Opener = atomic_file
) -> Path:
    """Write one (H, W, 3) uint8 image as PNG, JPEG or WebP (by suffix), atomically."""
    fmt = format_of(str(path))
    if fmt is None or fmt.kind != "still":
        raise OutputError(f"{path}: unknown image format (use {', '.join(STILL_FORMATS)})")
    img = Image.fromarray(np.ascontiguousarray(pixels), "RGB")
    with opener(Path(path)) as f:
        img.save(f, fmt.encoder, **still_options(fmt.encoder, record))
    return Path(path)


def still_options(fmt: str, record: dict | None) -> dict:
    """Encoder settings of a still format (Pillow's name), with the record in its slot."""
    text = canonical(record) if record is not None else None
    settings = next(f.options for f in FORMATS.values() if f.encoder == fmt)
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        if text is not None:
            info.add_itxt(RECORD_KEY, text)
            if (parameters := _infotext(record)) is not None:
                info.add_text(PARAMETERS_KEY, parameters)
        return {"pnginfo": info}
    if fmt == "JPEG":
        opts: dict = dict(settings)
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
    opts = dict(settings)
    if text is not None:
        exif = Image.Exif()
        exif[_EXIF_DESCRIPTION] = canonical_ascii(record)
        opts["exif"] = exif.tobytes()
    return opts


def _infotext(record: dict | None) -> str | None:
    """A1111's `parameters` text for a gencode record (None for other dicts)."""
    from gencode.a1111 import infotext

    return infotext(record) if record is not None else None


def canonical_ascii(record: dict) -> str:
    """Canonical JSON escaped to ASCII, for slots (EXIF) that only hold ASCII."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


# ---- animations ------------------------------------------------------------------------------


def write_animation(
    path: Path,
    frames: np.ndarray,
    fps: float,
    record: Record = None,
    sidecar: bool = False,
    audio: Path | None = None,
    opener: Opener = atomic_file,
) -> Path:
    """Write (N, H, W, 3) uint8 frames as a GIF or an MP4 (by suffix; an MP4 may carry `audio`),
    atomically, encoded once; `record` is the record, or a function of the pixels a reader will
    decode (which the one encode tells); with `sidecar`, the record also goes to `<path>.json`."""
    suffix = Path(path).suffix.lower()
    if audio is not None and suffix != ".mp4":
        raise OutputError(f"{path}: a soundtrack goes with an .mp4, not a {suffix} file")
    side = sidecar_path(path) if sidecar and record is not None else None
    embedded: list[dict | None] = []  # the record as made from the encoded file, for the sidecar

    def told(decoded: np.ndarray) -> dict | None:
        embedded.append(record(decoded) if callable(record) else record)
        return embedded[-1]

    if side is not None:
        # The old sidecar goes first: a crash before the new one lands leaves an animation
        # without a sidecar (verify says so), never one beside a stale sidecar.
        side.unlink(missing_ok=True)
    if suffix == ".gif":
        written = write_gif(path, frames, fps, told if callable(record) else record, opener)
    elif suffix == ".mp4":
        written = write_mp4(path, frames, fps, told if callable(record) else record, audio, opener)
    else:
        raise OutputError(f"{path}: unknown animation format (use .gif or .mp4)")
    final = embedded[-1] if embedded else record
    if side is not None and isinstance(final, dict):
        with opener(side) as f:
            f.write((canonical(final) + "\n").encode())
    return written


def sidecar_path(path: Path) -> Path:
    """The JSON file beside an animation that holds its record."""
    return Path(path).with_name(Path(path).name + SIDECAR_SUFFIX)


# ---- reading records back --------------------------------------------------------------------


def record_text(path: Path) -> str | None:
    """The text of the record slot of a file written here (None when empty); not yet parsed."""
    path = Path(path)
    if path.suffix.lower() == ".mp4":
        text = mp4_tags(path).get("comment")
    else:
        try:  # a FIFO or a device would block the reader; a huge file would fill memory
            with open_regular(path, MAX_IMAGE_BYTES, "image") as f, Image.open(f) as img:
                text = img.info.get(RECORD_KEY) or img.info.get("comment")
                if text is None and img.format == "WEBP":
                    text = img.getexif().get(_EXIF_DESCRIPTION)
        except FileProblem as e:
            raise OutputError(str(e)) from None
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return text or None


def read_record(path: Path) -> dict | None:
    """The record embedded in a file written here, or None when it carries none (unvalidated:
    readers of files from elsewhere use `gencode.provenance.schema.load`)."""
    text = record_text(path)
    try:
        record = loads_json(text, "record") if text else None
    except (ValueError, RecursionError):
        return None  # a comment from some other tool, or a record nested absurdly deep
    return record if isinstance(record, dict) else None
