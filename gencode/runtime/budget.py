"""Pre-flight memory estimate: refuse a render that cannot fit before anything runs or is written.

Input: a graph and its loaded models. Output: the bytes its values (and the largest sampler
batch) would take, compared with what the device has free.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gencode.graph import Graph, Node

FLOAT = 4  # values are float32
ACTIVATIONS = 64  # a UNet's live activations per latent element, roughly (measured ~40 at 32x32)


@dataclass(frozen=True)
class Estimate:
    total: int  # bytes of every value plus the largest sampler batch
    largest: Node | None  # the node with the largest value
    largest_bytes: int


def estimate(graph: Graph, model_of: Callable[[Node], Any], chunk: int) -> Estimate:
    """Bytes the graph's values would take at once (an upper bound: all of them, no cache)."""
    shapes: dict[str, tuple[int, ...]] = {}
    total, largest, largest_bytes, working = 0, None, 0, 0
    for node in graph.nodes:
        shape = _shape(node, shapes, model_of)
        shapes[node.key] = shape
        size = math.prod(shape) * FLOAT * int(node.length or 1)
        total += size
        if size > largest_bytes:
            largest, largest_bytes = node, size
        if node.op == "diffuse":
            batch = min(int(node.length or 1), chunk)
            latent = shapes.get(node.inputs[0].key, shape)
            working = max(working, 2 * batch * math.prod(latent) * FLOAT * ACTIVATIONS)
    return Estimate(total + working, largest, largest_bytes)


def _shape(
    node: Node, shapes: dict[str, tuple[int, ...]], model_of: Callable[[Node], Any]
) -> tuple[int, ...]:
    """The shape of one frame of a node's value."""
    p = node.params
    first = shapes.get(node.inputs[0].key, (1,)) if node.inputs else (1,)
    if node.op == "noise":
        return tuple(int(s) for s in p["shape"])
    if node.op == "load":
        w, h = p["size"]
        return (3, int(h), int(w))
    if node.op == "diffuse":
        if p.get("mode") == "img2img":
            return first
        return tuple(model_of(node).image_shape(first))
    if node.op in ("sample", "decode"):
        return tuple(model_of(node).image_shape())
    if node.op == "encode":
        return tuple(model_of(node).latent_shape)
    if node.op == "upscale":
        f = int(p.get("factor", 2))
        return (*first[:-2], first[-2] * f, first[-1] * f) if len(first) >= 2 else first
    if node.op == "grid":
        return (math.prod(first) * int(node.inputs[0].length or 1),)
    if node.op in ("prompt", "mix"):
        return (1,)  # conditionings are small next to images
    return first
