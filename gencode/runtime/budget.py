"""Pre-flight estimate: refuse a render that cannot fit before anything runs or is written, and
say how long a long one will take.

Input: a graph and its loaded models. Output: the bytes its values (and the largest sampler
batch) would take, compared with what the device has free, and the seconds its samplers need.

Calibrated with `python bench/budget.py` (peak RSS of a fresh process, scenes model, CPU, one
thread; docs/security.md keeps the table): the estimate is within 1.3x of real at 64-256 px.
A sampler batch holds, per latent, its conv activations (ACTIVATIONS floats per element) and,
for a UNet with self-attention, heads x tokens^2 attention scores, twice over with guidance.
That quadratic term is why 2048x2048 on the 32 px model needs ~2 TB: it is refused at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gencode.graph import Graph, Node
from gencode.ops.shapes import Query
from gencode.ops.table import OPS

FLOAT = 4  # values are float32
ACTIVATIONS = 64  # a UNet's live activations per latent element, roughly (measured ~40 at 32x32)
OVERHEAD = 40 << 20  # what a first run adds whatever its size (allocator pools, denoiser copies)
# Sampler work per second on one CPU thread, in (latent elements x ACTIVATIONS + attention
# scores) per network evaluation: measured 1.6-3.1e7 on a busy 2-core machine (bench/budget.py);
# 4x that is kept, so the estimate errs short and a "this will take long" note is no false alarm.
WORK_PER_SECOND = 1e8
LONG_RENDER_SECONDS = 120  # `gencode render` says how long a render will take past this


@dataclass(frozen=True)
class Estimate:
    total: int  # bytes of every value plus the largest sampler batch
    largest: Node | None  # the node with the largest value
    largest_bytes: int
    seconds: float = 0.0  # sampler time on one CPU thread, roughly (more threads: less)
    working: int = 0  # bytes of the largest sampler batch (activations and attention)


def estimate(graph: Graph, model_of: Callable[[Node], Any], chunk: int) -> Estimate:
    """Bytes the graph's values would take at once (an upper bound: all of them, no cache)."""
    shapes: dict[str, tuple[int, ...]] = {}
    total, largest, largest_bytes, working, work = 0, None, 0, 0, 0.0
    for node in graph.nodes:
        shape = _shape(node, shapes, model_of)
        shapes[node.key] = shape
        size = math.prod(shape) * FLOAT * int(node.length or 1)
        total += size
        if size > largest_bytes:
            largest, largest_bytes = node, size
        if OPS[node.op].describes == "sampler":  # a diffusion sampler: its network's work
            latent = shapes.get(node.inputs[0].key, shape)
            per_latent = _per_latent(model_of(node), latent)  # floats live per network input
            batch = 2 * min(int(node.length or 1), chunk)  # guidance doubles every batch
            working = max(working, batch * per_latent * FLOAT)
            work += 2 * int(node.length or 1) * int(node.params.get("steps", 1)) * per_latent
    return Estimate(
        total + working + OVERHEAD, largest, largest_bytes, work / WORK_PER_SECOND, working
    )


def _per_latent(model: Any, latent: tuple[int, ...]) -> int:
    """Floats a network evaluation keeps live per latent: conv activations and attention."""
    attention = getattr(model, "attention_scores", None)
    return math.prod(latent) * ACTIVATIONS + (int(attention(latent)) if attention else 0)


def _shape(
    node: Node, shapes: dict[str, tuple[int, ...]], model_of: Callable[[Node], Any]
) -> tuple[int, ...]:
    """The shape of one frame of a node's value, by the op's shape rule (unknown: one element)."""
    model = _Loaded(model_of(node)) if "model" in node.params else None
    query = Query(
        node.params,
        [shapes.get(i.key) for i in node.inputs],
        [i.length for i in node.inputs],
        model,
    )
    return OPS[node.op].shape(query) or (1,)


@dataclass(frozen=True)
class _Loaded:
    """A loaded model as a `ShapeModel` (gencode.ops.shapes)."""

    model: Any

    def latent_of(self, size: Sequence[int]) -> tuple[int, ...]:
        native = tuple(self.model.latent_shape)
        if len(native) < 3:
            return native  # a GAN's or VAE's vector: the same at every size
        f = self.image_of(native)[-1] // native[-1]
        return (native[0], int(size[1]) // f, int(size[0]) // f)

    def image_of(self, latent: Sequence[int] | None) -> tuple[int, ...]:
        return tuple(self.model.image_shape(latent))
