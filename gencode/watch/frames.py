"""Frames: a finished render's output values → uint8 pixels kept in memory, served as PNGs.

Input: a `RenderResult`. Output: a `Snapshot` (one per good render, numbered by generation) that
the preview page reads by URL `/frames/<generation>/<output>/<frame>.png`. PNGs are encoded on
first request, not when the render ends, so a new render is announced without waiting on encoders.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gencode.errors import Diagnostic


@dataclass
class OutputFrames:
    name: str
    pixels: np.ndarray  # (N, H, W, 3) uint8; N == 1 for a still
    fps: float
    sequence: bool


@dataclass
class Snapshot:
    """The frames of one good render."""

    generation: int
    outputs: list[OutputFrames]
    seconds: float = 0.0
    _pngs: dict[tuple[int, int], bytes] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def of(cls, result: Any, generation: int) -> Snapshot:
        """A snapshot of a RenderResult's outputs."""
        outs = []
        for out in result.graph.outputs:
            a = result.array(out.name)  # (H, W, 3) or (N, H, W, 3)
            seq = a.ndim == 4
            outs.append(OutputFrames(out.name, a if seq else a[None], float(out.fps), seq))
        return cls(generation, outs, float(result.summary.seconds))

    def url(self, i: int, frame: int) -> str:
        return f"/frames/{self.generation}/{i}/{frame}.png"

    def png(self, i: int, frame: int) -> bytes | None:
        """One frame as PNG bytes (None if there is no such frame)."""
        if not (0 <= i < len(self.outputs) and 0 <= frame < len(self.outputs[i].pixels)):
            return None
        with self._lock:
            data = self._pngs.get((i, frame))
        if data is None:
            from PIL import Image

            buf = io.BytesIO()
            # Level 1: these bytes travel over loopback once; speed beats size.
            Image.fromarray(self.outputs[i].pixels[frame]).save(buf, "PNG", compress_level=1)
            data = buf.getvalue()
            with self._lock:
                self._pngs[(i, frame)] = data
        return data

    def describe(self) -> list[dict[str, Any]]:
        """Each output for the page: name, size, fps and its frames' URLs."""
        items = []
        for i, o in enumerate(self.outputs):
            n, h, w = o.pixels.shape[:3]
            frames = [self.url(i, f) for f in range(n)]
            items.append(
                {"name": o.name, "width": w, "height": h, "fps": o.fps, "sequence": o.sequence}
                | {"frames": frames}
            )
        return items


def non_finite(result: Any) -> str | None:
    """The first output holding NaN or infinite values (a diverged model or setting), or None."""
    import torch

    for out in result.graph.outputs:
        v = result.values[out.name]
        if v.is_floating_point() and not bool(torch.isfinite(v).all()):
            return out.name
    return None


def locate(script: Any, message: str, node: Any = None, output: str | None = None) -> str:
    """A runtime error as `file:line:col: error: ...` with a caret under the output it broke."""
    program, graph = script.program, script.graph
    span = None
    for out, checked in zip(graph.outputs, program.outputs, strict=False):
        if (output is not None and out.name == output) or (
            node is not None and _depends(out.node, node.key)
        ):
            span = checked.span
            break
    if span is None:
        return f"{script.path}: error: {message}"
    return Diagnostic("error", message, span).format(program.sources)


def error_text(e: BaseException) -> str:
    """What a failed render says: a RenderError or DeviceError in its own words (naming the line
    of the value that failed, where it knows it), anything else with its type."""
    text = str(e) or type(e).__name__
    located = getattr(e, "located", None)  # a RenderError names the line of the value that failed
    if callable(located):
        text = located()
    return (
        text if type(e).__name__ in ("RenderError", "DeviceError") else f"{type(e).__name__}: {e}"
    )


def _depends(root: Any, key: str) -> bool:
    """Whether `root` is, or is computed from, the node with this key."""
    stack, seen = [root], set()
    while stack:
        n = stack.pop()
        if n.key == key:
            return True
        if n.key not in seen:
            seen.add(n.key)
            stack.extend(n.inputs)
    return False
