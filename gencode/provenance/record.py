"""Records: a rendered output (its graph node, frame and pixels) → a canonical-JSON provenance dict.

A record says how a file was made: the script source and its sha256 (with the `--set` values and
included files), the node's content key, every seed, the models by name and sha256, the sampler
settings, the size, the frame, the device, dtype and versions, the time, and the sha256 of the
pixels a reader decodes from the file. `Recorder` is the `records` hook `write_outputs` calls.
"""

from __future__ import annotations

import hashlib
import platform
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from gencode.graph import Node, Output, canonical
from gencode.outputs_paths import ANIMATION_FORMATS, frame_path
from gencode.provenance.pixels import as_written, pixel_sha256

SCHEMA = "gencode.record/1"
# The fields `reproduce` compares: a difference in any explains a pixel difference.
ENV_FIELDS = ("device", "dtype", "gencode", "torch", "python", "platform")
_GENERATORS = ("diffuse", "sample", "decode")  # ops whose settings describe an image


def is_record(obj: object) -> bool:
    """Whether `obj` is a gencode provenance record (not some other tool's comment)."""
    return isinstance(obj, dict) and str(obj.get("schema", "")).startswith("gencode.record/")


def unsigned(record: dict) -> dict:
    """The record without its signature: what a signature covers."""
    return {k: v for k, v in record.items() if k != "signature"}


def canonical_bytes(record: dict) -> bytes:
    """The exact bytes a signature covers: canonical JSON of the unsigned record."""
    return canonical(unsigned(record)).encode()


def environment(device: str, dtype: str) -> dict[str, str]:
    """Where and with what the pixels were computed."""
    import torch

    from gencode import __version__

    return {
        "device": device,
        "dtype": dtype,
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


# ---- the graph ---------------------------------------------------------------------------------


def upstream(node: Node) -> list[Node]:
    """The node and everything it depends on, inputs first, each once."""
    seen: dict[str, Node] = {}
    stack: list[tuple[Node, bool]] = [(node, False)]
    while stack:  # iterative: long chains need no deep recursion
        n, expanded = stack.pop()
        if n.key in seen:
            continue
        if expanded:
            seen[n.key] = n
            continue
        stack.append((n, True))
        stack.extend((i, False) for i in reversed(n.inputs) if i.key not in seen)
    return list(seen.values())


def nearest(node: Node, ops: tuple[str, ...]) -> Node | None:
    """The closest node upstream (breadth first) whose op is one of `ops`; each node is visited
    once, since shared inputs (`blend i i`) would otherwise double the queue at every level."""
    queue, seen = deque([node]), {node.key}
    while queue:
        n = queue.popleft()
        if n.op in ops:
            return n
        for i in n.inputs:
            if i.key not in seen:
                seen.add(i.key)
                queue.append(i)
    return None


def at_frame(value: Any, node: Node, frame: int | None) -> Any:
    """A per-frame param list (a keyframed guidance) at one frame; whole for a whole output."""
    if isinstance(value, list) and frame is not None and node.length == len(value):
        return value[frame]
    return value


def prompt_text(cond: Node | None, frame: int | None) -> str | None:
    """A conditioning node as prompt text: a mix of prompts in A1111's `a :w AND b :w` form."""
    if cond is None:
        return None
    if cond.op == "prompt":
        return str(cond.params.get("text", ""))
    texts = cond.params.get("texts")
    if cond.op == "mix" and isinstance(texts, list):
        weights = cond.params.get("weights")
        if frame is not None and isinstance(weights, list) and frame < len(weights):
            parts = [f"{t} :{w:g}" for t, w in zip(texts, weights[frame], strict=False) if w]
            return " AND ".join(parts)
        return " → ".join(texts)
    return None


def generation(node: Node, frame: int | None) -> dict[str, Any]:
    """Seeds, models, prompt and sampler settings of the subgraph computing `node`."""
    nodes = upstream(node)
    seeds = list(
        dict.fromkeys(n.params["seed"] for n in nodes if isinstance(n.params.get("seed"), int))
    )
    models = list(
        {canonical(m): m for n in nodes if isinstance(m := n.params.get("model"), dict)}.values()
    )
    loads = [
        {"file": n.params.get("path"), "sha256": n.params.get("sha256")}
        for n in nodes
        if n.op == "load"
    ]
    gen = nearest(node, _GENERATORS)
    p = gen.params if gen is not None else {}
    diffuse = gen is not None and gen.op == "diffuse"
    return {
        "seed": p.get("seed", seeds[0] if seeds else None),
        "seeds": seeds,
        "model": p.get("model", models[0] if models else None),
        "models": models,
        "inputs": loads,
        "prompt": prompt_text(gen.inputs[1], frame) if diffuse and len(gen.inputs) > 1 else None,
        "negative": prompt_text(gen.inputs[2], frame) if diffuse and len(gen.inputs) > 2 else None,
        "sampler": p.get("sampler"),
        "steps": p.get("steps"),
        "guidance": at_frame(p.get("guidance"), gen, frame) if gen is not None else None,
        "strength": p.get("strength"),
    }  # fmt: skip


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
    env: dict[str, str]  # `environment(...)`
    signer: Callable[[dict], dict] | None = None  # record → signed record
    extra: dict[str, Any] | None = None  # e.g. the batch item this render belongs to
    created: str | None = None  # one time for every file of a render

    def __call__(self, out: Output, frame: int | None, pixels: np.ndarray) -> dict:
        file = output_file(out, frame, pixels)
        decoded = as_written(pixels, PurePosixPath(file).suffix, out.fps)
        h, w = pixels.shape[-3:-1]
        record: dict[str, Any] = {
            "schema": SCHEMA,
            "created": self.created or now(),
            "script": self.script,
            "output": {"name": out.name, "file": file, "node": out.node.key, "frame": frame},
            **generation(out.node, frame),
            "size": [int(w), int(h)],
            "environment": self.env,
            "pixels": {"sha256": pixel_sha256(decoded), "shape": list(decoded.shape)},
        }
        if pixels.ndim == 4:
            record["output"] |= {"frames": int(len(pixels)), "fps": out.fps}
            if out.audio and file.lower().endswith(".mp4"):
                record["output"]["audio"] = out.audio  # verify: the one soundtrack it may hold
        if self.extra:
            record |= self.extra
        return self.signer(record) if self.signer else record
