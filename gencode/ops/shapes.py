"""Shape rules: an op's params, its inputs' shapes and its model → the shape of one frame of its
value. One rule per op (named in the op table), used by the checker (which latent a value
carries) and by the runtime's pre-flight memory estimate; torch-free.

A model is seen through `ShapeModel`: the checker's `ModelRef` and a loaded model (adapted in
`gencode.runtime.budget`) both answer it. A rule returns None when a shape cannot be told.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

Shape = tuple[int, ...]


class ShapeModel(Protocol):
    def latent_of(self, size: Sequence[int]) -> Shape:
        """The latent of an image of `size` (width, height)."""
        ...

    def image_of(self, latent: Sequence[int] | None) -> Shape:
        """The image (3, H, W) a latent of this shape decodes to."""
        ...


@dataclass(frozen=True)
class Query:
    """What a shape rule sees: the op's params, its inputs' frame shapes and lengths, its model."""

    params: dict[str, Any]
    inputs: list[Shape | None]
    lengths: list[int | None]
    model: ShapeModel | None = None

    @property
    def first(self) -> Shape | None:
        return self.inputs[0] if self.inputs else None


ShapeRule = Callable[[Query], Shape | None]


def first(q: Query) -> Shape | None:
    """The shape of the first input (image ops, latent arithmetic, an animation's frames)."""
    return q.first


def given(q: Query) -> Shape | None:
    """A `shape` param (noise, a wander's latent)."""
    return tuple(int(s) for s in q.params["shape"])


def picture(q: Query) -> Shape | None:
    """An RGB image at the `size` param (a loaded file, the picture on screen)."""
    w, h = q.params["size"]
    return (3, int(h), int(w))


def conditioning(q: Query) -> Shape:
    """A prompt's conditioning: small next to images, counted as one element."""
    return (1,)


def generated(q: Query) -> Shape | None:
    """A diffused image: of its latent's size, or img2img of its start image's."""
    if q.params.get("mode") == "img2img":
        return q.first
    return q.model.image_of(q.first) if q.model is not None else None


def decoded(q: Query) -> Shape | None:
    """The image a model decodes its latent input to (sample, decode)."""
    return q.model.image_of(q.first) if q.model is not None else None


def encoded(q: Query) -> Shape | None:
    """The latent an image of the `size` param encodes to."""
    return tuple(q.model.latent_of(q.params["size"])) if q.model is not None else None


def upscaled(q: Query) -> Shape | None:
    x, f = q.first, int(q.params.get("factor", 2))
    if x is None or len(x) < 2:
        return x
    return (*x[:-2], x[-2] * f, x[-1] * f)


def sheet(q: Query) -> Shape | None:
    """A contact sheet: every frame's pixels on one image (the element count is what counts)."""
    x = q.first
    return None if x is None else (math.prod(x) * int(q.lengths[0] or 1),)
