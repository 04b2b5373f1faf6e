"""Similarity filter: a feedback frame whose input barely changed reuses the last picture made.

Input: a frame's graph, the picture it starts from (the one on screen) and the `similar`
threshold (cosine similarity, 0 = off). Output: whether the frame may reuse the last picture
made instead of running (`Filter.reuse`), and `Filter.made` to note each picture that did run.

This is StreamDiffusion's stochastic similarity filter, for a feedback loop: when the program
is the same as at the last frame made (its params apart from the frame number) and the picture
it would start from is as similar to that frame's start as `threshold`, the stream has settled
(a still prompt, no motion) and the frame is skipped with probability (s − threshold) /
(1 − threshold), at most `MAX_SKIPS` frames in a row. The draw is seeded by the frame number and
the similarity is taken in float64, so a replay makes the same choices.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

import torch

from gencode.graph import Graph, canonical

MAX_SKIPS = 10  # StreamDiffusion's max_skip_frame: a settled stream still moves now and then
PER_FRAME = ("frame",)  # params that differ between frames of one unchanged program


@dataclass
class Made:
    signature: str  # the frame's program apart from the frame number
    start: torch.Tensor  # the picture it started from (3, H, W)


class Filter:
    """Remembers the last frame made; says whether the next may reuse its picture."""

    def __init__(self) -> None:
        self.last: Made | None = None
        self.skips = 0  # frames reused in a row
        self.reused = 0  # frames reused in all (status, tests)

    def reuse(self, graph: Graph, start: torch.Tensor | None, frame: int, threshold: float) -> bool:
        """Whether frame `frame` (its graph, starting from `start`) may show the last picture."""
        if threshold <= 0 or start is None or self.last is None or self.skips >= MAX_SKIPS:
            return False
        if not _reads_previous(graph) or signature(graph) != self.last.signature:
            return False
        if start.shape != self.last.start.shape:
            return False
        s = similarity(start, self.last.start)
        if s < threshold:
            return False
        chance = 1.0 if threshold >= 1 else (s - threshold) / (1 - threshold)
        if random.Random(f"similar:{frame}").random() >= chance:
            return False
        self.skips += 1
        self.reused += 1
        return True

    def made(self, graph: Graph, start: torch.Tensor | None, threshold: float) -> None:
        """A frame ran: the next frames compare with its start (when the filter is on)."""
        self.skips = 0
        self.last = None
        if threshold > 0 and start is not None:
            self.last = Made(signature(graph), start)


def similarity(a: torch.Tensor, b: torch.Tensor) -> float:
    """Cosine similarity of two pictures in [0, 1], centred on grey (so dark ≠ light)."""
    x = a.detach().reshape(-1).double() - 0.5
    y = b.detach().reshape(-1).double() - 0.5
    return float(torch.nn.functional.cosine_similarity(x, y, dim=0))


def signature(graph: Graph) -> str:
    """A hash of the graph's ops and params, leaving out the frame number and the pictures."""
    parts = [
        [n.op, {k: v for k, v in n.params.items() if k not in PER_FRAME}]
        for n in graph.nodes
        if n.op != "picture"
    ]
    return hashlib.sha256(canonical(parts).encode()).hexdigest()


def _reads_previous(graph: Graph) -> bool:
    """Whether the frame starts from the picture on screen (a feedback program)."""
    return any(
        n.op == "picture" and n.params.get("slot") == "previous" and n.params.get("of")
        for n in graph.nodes
    )
