"""Records: a rendered output (its graph node, frame and pixels) → a canonical-JSON provenance dict.

A record says how a file was made: the script source and its sha256 (with the `--set` values and
included files), the node's content key, every seed, the models by name and sha256, the sampler
settings, the size, the frame, the device, dtype and versions, the time, and the sha256 of the
pixels a reader decodes from the file. `Recorder` is the `records` hook `write_outputs` calls.
"""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from gencode.describe import descriptors, upstream  # noqa: F401 (upstream: for batch)
from gencode.graph import Output, canonical
from gencode.outputs_paths import ANIMATION_FORMATS, frame_path, played_fps
from gencode.provenance.pixels import as_written, pixel_sha256

SCHEMA = "gencode.record/1"
# The fields `reproduce` compares: a difference in any explains a pixel difference.
ENV_FIELDS = ("device", "dtype", "threads", "cpu", "gencode", "torch", "python", "platform")


def is_record(obj: object) -> bool:
    """Whether `obj` is a gencode provenance record (not some other tool's comment)."""
    return isinstance(obj, dict) and str(obj.get("schema", "")).startswith("gencode.record/")


def unsigned(record: dict) -> dict:
    """The record without its signature: what a signature covers."""
    return {k: v for k, v in record.items() if k != "signature"}


def canonical_bytes(record: dict) -> bytes:
    """The exact bytes a signature covers: canonical JSON of the unsigned record."""
    return canonical(unsigned(record)).encode()


def environment(device: str, dtype: str, threads: int | None = None) -> dict[str, Any]:
    """Where and with what the pixels were computed: each of these can change the last bits."""
    import torch

    from gencode import __version__
    from gencode.runtime.device import cpu_name

    return {
        "device": device,
        "dtype": dtype,
        "threads": int(threads) if threads is not None else torch.get_num_threads(),
        "cpu": cpu_name(),
        "gencode": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": f"{platform.system()}-{platform.machine()}",
    }


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# ---- the script --------------------------------------------------------------------------------


def script_section(
    files: list[str], sources: dict[str, str], sets: dict[str, str], params: dict[str, Any]
) -> dict[str, Any]:
    """The script as rendered: its source, the `--set` values and its includes (by hash)."""
    main = files[0]
    root = Path(main).resolve().parent
    includes = []
    for name in files[1:]:
        p = Path(name)
        # Relative to the script's folder: an absolute path would publish the artist's disk layout.
        rel = p.relative_to(root).as_posix() if p.is_relative_to(root) else p.name
        includes.append({"file": rel, "sha256": sha256_text(sources[name])})
    source = sources[main]
    return {
        "file": main if not Path(main).is_absolute() else Path(main).name,
        "sha256": sha256_text(source),
        "source": source,
        "sets": dict(sets),
        "params": dict(params),
        "includes": includes,
    }


# ---- the generation, as compile told it ------------------------------------------------------


def generation(out: Output, frame: int | None) -> dict[str, Any]:
    """The descriptor compile attached to this output's frame (an animation: its first frame)."""
    told = out.generation or descriptors(out.node)  # an Output built by hand carries none
    return dict(told[frame if frame is not None and frame < len(told) else 0])


# ---- one record per file -----------------------------------------------------------------------


def output_file(out: Output, frame: int | None, pixels: np.ndarray) -> str:
    """The file (relative to the output folder) that these pixels are written to."""
    if pixels.ndim == 4:
        suffix = PurePosixPath(out.path).suffix.lower()
        return out.path if suffix in ANIMATION_FORMATS else str(out.animation)
    return frame_path(out.path, frame) if frame is not None else out.path


@dataclass
class Recorder:
    """The `records` hook for `write_outputs`: builds, and signs when asked, each file's record."""

    script: dict[str, Any]  # `script_section(...)`
    env: dict[str, Any]  # `environment(...)`
    signer: Callable[[dict], dict] | None = None  # record → signed record
    extra: dict[str, Any] | None = None  # e.g. the batch item this render belongs to
    created: str | None = None  # one time for every file of a render

    def __call__(
        self, out: Output, frame: int | None, pixels: np.ndarray, decoded: np.ndarray | None = None
    ) -> dict:
        """The record of one file; `decoded`: the pixels its reader gets, when the writer has
        them already (an animation's one encode), else made here the way the writer makes them."""
        file = output_file(out, frame, pixels)
        if decoded is None:
            decoded = as_written(pixels, PurePosixPath(file).suffix, out.fps)
        h, w = pixels.shape[-3:-1]
        record: dict[str, Any] = {
            "schema": SCHEMA,
            "created": self.created or now(),
            "script": self.script,
            "output": {"name": out.name, "file": file, "node": out.node.key, "frame": frame},
            **generation(out, frame),
            "size": [int(w), int(h)],
            "environment": self.env,
            "pixels": {"sha256": pixel_sha256(decoded), "shape": list(decoded.shape)},
        }
        if pixels.ndim == 4:
            fps = played_fps(file, out.fps)  # what the file stores: a GIF caps the rate
            record["output"] |= {"frames": int(len(pixels)), "fps": fps}
            if out.audio and file.lower().endswith(".mp4"):
                record["output"]["audio"] = out.audio  # verify: the one soundtrack it may hold
        if self.extra:
            record |= self.extra
        return self.signer(record) if self.signer else record
