"""Stepper: (program, frame, signals, the picture on screen) → the next picture, through the
executor.

Input: a `Program`, a frame index and the live signals. Output: `Shown`, the frame's picture
(float, on the device), its pixels (uint8 H×W×3) and their sha256. The picture carried from frame
to frame is a content-keyed value in the executor's memory cache, so every frame runs through
the same ops and caches as an offline render and a replay reproduces it exactly. With
`skip_similar`, a frame of a settled feedback stream may show the last picture again
(`gencode.live.similar`), by a rule a replay follows too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from gencode import types as T
from gencode.graph import Graph, Node, Output
from gencode.live.program import Program
from gencode.live.similar import Filter
from gencode.runtime.execute import Executor
from gencode.runtime.outputs import to_uint8


def pipeline(device: str = "auto", **options: Any) -> Callable[[Program], Executor]:
    """A stream's executor: one, made by `render.executor_for` (the one pipeline loader) for the
    first program that checks, so the script's `device` line and its models count as they do
    offline; later programs add their models to it. `options` go to the executor."""
    made: list[Executor] = []

    def executor(program: Program) -> Executor:
        if not made:
            from gencode.render import executor_for

            made.append(executor_for(program.checked, program.catalog, device, **options))
        return made[0]

    return executor


@dataclass
class Shown:
    frame: int
    picture: torch.Tensor  # (3, H, W) in [0, 1]
    key: str  # the content key of the picture
    pixels: np.ndarray  # (H, W, 3) uint8
    sha256: str  # of the pixels' bytes: what a replay compares
    program: int  # the number of the program that made it


@dataclass
class Swap:
    """How a program took over: at which frame, and over how many frames it cross-fades."""

    frame: int
    crossfade: float
    old: Shown | None  # the last picture of the program before


class Stepper:
    """Makes frames one at a time, carrying the previous picture and the colour anchor."""

    def __init__(self, pipeline: Callable[[Program], Executor]):
        self.pipeline = pipeline
        self.executor: Executor | None = None  # made for the first program
        self.last: Shown | None = None
        self.anchor: Shown | None = None
        self.swap = Swap(0, 0, None)
        self.similar = Filter()

    def begin(self, program: Program, frame: int) -> None:
        """`program` takes over from `frame`: the picture on screen anchors its colours."""
        self._use(program)
        self.anchor = self.last
        self.swap = Swap(frame, float(program.settings["crossfade"]), self.last)

    def adopt(self, program: Program) -> None:
        """`program` goes on from here as a continuation (a number moved): no new anchor, no fade."""
        self._use(program)

    def _use(self, program: Program) -> None:
        self.executor = self.pipeline(program)
        self.executor.add_models(program.catalog.resolved)

    def state(self) -> tuple:
        f = self.similar
        return (self.last, self.anchor, self.swap, f.last, f.skips)

    def restore(self, state: tuple) -> None:
        """Back to a saved state: a new program that failed on its first frame leaves no trace."""
        self.last, self.anchor, self.swap, self.similar.last, self.similar.skips = state

    def step(
        self,
        program: Program,
        frame: int,
        signals: dict[str, float],
        cancel: threading.Event | None = None,
    ) -> Shown:
        """The picture of `frame` (raises RenderError or GenError, or Cancelled once `cancel` is
        set; the state is then unchanged)."""
        pictures = {"previous": _key(self.last), "anchor": _key(self.anchor)}
        graph = program.graph(frame, signals, pictures)
        node = graph.outputs[0].node
        graph = self._crossfaded(graph, node, frame)
        start = self.last.picture if self.last is not None else None
        threshold = float(program.settings.get("skip_similar") or 0)
        if self.last is not None and self.similar.reuse(graph, start, frame, threshold):
            shown = dataclasses.replace(self.last, frame=frame, program=program.number)
            self.last = shown
            return shown  # the stream has settled: the picture on screen stays up
        assert self.executor is not None, "step() before begin()"
        self._supply(graph)
        value = self.executor.run(graph, program.root, cancel=cancel).values[graph.outputs[0].name]
        key = graph.outputs[0].node.key
        if value.dim() == 4:  # a finite sequence loops on the stream's clock
            i = frame % value.shape[0]
            value, key = value[i], f"{key}#{i}"
        pixels = to_uint8(value)
        shown = Shown(frame, value, key, pixels, sha256(pixels), program.number)
        if self.anchor is None:
            self.anchor = shown  # a program's first picture anchors its colour coherence
        self.similar.made(graph, start, threshold)
        self.last = shown
        return shown

    def _crossfaded(self, graph: Graph, node: Node, frame: int) -> Graph:
        """The new program's picture blended from the old one's over the crossfade frames."""
        s = self.swap
        k = frame - s.frame
        if s.old is None or s.crossfade <= 0 or k >= s.crossfade or node.type != T.IMAGE:
            return graph
        old = _leaf(s.old)
        amount = round((k + 1) / (s.crossfade + 1), 6)
        mix = Node.make("blend", {"amount": amount}, (old, node), T.IMAGE)
        out = graph.outputs[0]
        return Graph([*graph.nodes, old, mix], [Output(out.name, mix, out.path, out.fps)])

    def _supply(self, graph: Graph) -> None:
        """Put the pictures the graph names into the cache, under their content keys."""
        known = {s.key: s.picture for s in (self.last, self.anchor, self.swap.old) if s}
        assert self.executor is not None
        for n in graph.nodes:
            if n.op == "picture" and n.params.get("of") is not None:
                self.executor.memory.put(n.key, known[n.params["of"]])


def _key(shown: Shown | None) -> str | None:
    return shown.key if shown is not None else None


def _leaf(shown: Shown) -> Node:
    h, w = shown.picture.shape[-2:]
    params = {"slot": "crossfade", "size": [int(w), int(h)], "of": shown.key}
    return Node.make("picture", params, (), T.IMAGE)


def sha256(pixels: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(pixels).tobytes()).hexdigest()
