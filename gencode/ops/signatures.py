"""Op signatures: what each op of the language accepts (arguments, types, ranges, defaults).

Torch-free. One `OpSignature` per op written in scripts; the op table (`gencode.ops.table`) puts
each beside the op's other facts. An op's name is its .gen keyword. `version` is part of every
node key: bump it when an op's implementation changes its output, so caches never serve stale
pixels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from gencode import types as T
from gencode.samplers.names import SAMPLER_NAMES
from gencode.seeds import SEED_MAX

REQUIRED = object()


@dataclass(frozen=True)
class FromSetting:
    """A default taken from the setting of this name in force at the call."""

    name: str


@dataclass(frozen=True)
class Arg:
    name: str
    types: tuple[str, ...]
    default: object = REQUIRED
    lo: float | None = None
    hi: float | None = None
    integer: bool = False
    choices: tuple[str, ...] | None = None  # for symbol arguments

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class OpSignature:
    name: str
    doc: str
    positional: tuple[Arg, ...] = ()
    keywords: tuple[Arg, ...] = ()
    version: int = 1
    open_keywords: bool = False  # keywords come from the model (edit's attributes)

    def keyword(self, name: str) -> Arg | None:
        return next((a for a in self.keywords if a.name == name), None)


ANY_LATENT = (T.LATENT, T.LATENTS)
ANY_IMAGE = (T.IMAGE, T.IMAGES)
# Easing curves t ∈ [0, 1] → [0, 1], written once for floats (`math.cos`) and tensors (`torch.cos`).
EASE_CURVES: dict[str, Callable[[Any, Callable[[Any], Any]], Any]] = {
    "linear": lambda t, cos: t,
    "in": lambda t, cos: t * t,
    "out": lambda t, cos: 1 - (1 - t) ** 2,
    "inout": lambda t, cos: (1 - cos(math.pi * t)) / 2,  # sine in-out
    "smooth": lambda t, cos: t * t * t * (t * (6 * t - 15) + 10),  # Perlin's smootherstep
}
EASES = tuple(EASE_CURVES)
SEED_MODES = ("fixed", "iter", "ladder", "alternate", "random")
SAMPLER = (T.SYMBOL, T.STRING)  # a gencode sampler, or "diffusers:NAME" (a diffusers scheduler)
SEED = Arg("seed", (T.NUMBER,), FromSetting("seed"), 0, SEED_MAX, integer=True)
FRAMES = Arg("frames", (T.NUMBER,), REQUIRED, 1, 10000, integer=True)

NOISE = OpSignature("noise", "fresh Gaussian noise in the model's latent shape", keywords=(SEED,))
DIFFUSE = OpSignature(
    "diffuse",
    "diffusion sampling: from noise, from a latent, img2img from an image, or over a sequence",
    positional=(
        Arg("prompt", (T.STRING, T.PROMPT_SCHEDULE, T.CONDS, T.COND), FromSetting("prompt")),
    ),
    keywords=(
        Arg("steps", (T.NUMBER,), FromSetting("steps"), 1, 1000, integer=True),
        Arg("guidance", (T.NUMBER, T.SCHEDULE), FromSetting("guidance"), 0, 50),
        Arg("sampler", SAMPLER, FromSetting("sampler"), choices=SAMPLER_NAMES),
        SEED,
        Arg("from", ANY_LATENT + ANY_IMAGE, None),
        Arg("strength", (T.NUMBER, T.SCHEDULE), FromSetting("strength"), 0, 1),
        Arg("negative", (T.STRING,), FromSetting("negative")),
        Arg("eta", (T.NUMBER,), FromSetting("eta"), 0, 1),
    ),
)
SAMPLE = OpSignature(
    "sample",
    "an image from a GAN (or a VAE's decoder) for fresh noise or a given latent",
    keywords=(SEED, Arg("from", ANY_LATENT, None)),
)
ENCODE = OpSignature("encode", "an image to its latent (VAE models)", (Arg("image", ANY_IMAGE),))
DECODE = OpSignature("decode", "a latent to its image (VAE models)", (Arg("latent", ANY_LATENT),))
INTERPOLATE = OpSignature(
    "interpolate",
    "a sequence of frames between A and B: latents (slerp), prompts or images (lerp)",
    positional=(
        Arg("mode", (T.SYMBOL,), choices=("latent", "prompt", "image")),
        Arg("a", (T.LATENT, T.STRING, T.IMAGE, T.NUMBER)),
        Arg("b", (T.LATENT, T.STRING, T.IMAGE, T.NUMBER)),
        FRAMES,
        Arg("method", (T.SYMBOL,), None, choices=("slerp", "lerp")),
    ),
    keywords=(Arg("ease", (T.SYMBOL,), "linear", choices=EASES),),
)
LOAD = OpSignature(
    "load",
    "an image file (PNG, JPEG, ...) resized to the current size",
    (Arg("path", (T.STRING,)),),
)
BLEND = OpSignature(
    "blend",
    "a mix of two images (or sequences, frame by frame)",
    (Arg("a", ANY_IMAGE), Arg("b", ANY_IMAGE)),
    (Arg("amount", (T.NUMBER, T.SCHEDULE), 0.5, 0, 1),),
)
UPSCALE = OpSignature(
    "upscale",
    "a larger image: nearest, bicubic or lanczos",
    (Arg("image", ANY_IMAGE),),
    (
        Arg("factor", (T.NUMBER,), 2, 1, 8, integer=True),
        Arg("method", (T.SYMBOL,), "lanczos", choices=("nearest", "bicubic", "lanczos")),
    ),
)
GRID = OpSignature(
    "grid",
    "a contact sheet of a sequence's frames",
    (Arg("frames", (T.IMAGES,)),),
    (Arg("cols", (T.NUMBER,), None, 1, 256, integer=True),),
)
EDIT = OpSignature(
    "edit",
    "a latent moved along the model's attribute directions: edit z smile 1.5",
    (Arg("latent", ANY_LATENT),),
    open_keywords=True,
)
NUMERIC = (T.NUMBER, T.SCHEDULE)
# The camera and feedback settings of `animate`: settings of their own (`zoom 1.02` on a line
# takes a whole expression, `zoom 1 + 0.02 * sin(beat * pi)`), and keywords of `animate`.
MOTION: tuple[Arg, ...] = (
    Arg("zoom", NUMERIC, 1.0, 0.5, 2.0),
    Arg("rotate", NUMERIC, 0.0, -180, 180),
    Arg("pan_x", NUMERIC, 0.0, -1024, 1024),
    Arg("pan_y", NUMERIC, 0.0, -1024, 1024),
    Arg("cadence", (T.NUMBER,), 1, 1, 50, integer=True),
    Arg("seed_mode", (T.SYMBOL,), "iter", choices=SEED_MODES),
    Arg("seed_every", (T.NUMBER,), 1, 1, 10000, integer=True),
    Arg("coherence", (T.SYMBOL,), "lab", choices=("none", "lab", "rgb", "hsv")),
    Arg("contrast", NUMERIC, 1.0, 0, 4),
    Arg("sharpen", NUMERIC, 0.0, 0, 5),
    Arg("border", (T.SYMBOL,), "replicate", choices=("replicate", "wrap")),
)
ANIMATE = OpSignature(
    "animate",
    "a feedback animation: each frame the previous one warped by the camera and re-diffused",
    positional=(
        replace(FRAMES, default=None),  # none: endless, frame by frame (gencode live)
        Arg("prompt", (T.STRING, T.PROMPT_SCHEDULE), FromSetting("prompt")),
    ),
    keywords=(
        Arg("from", (T.IMAGE,), None),
        *(replace(a, default=FromSetting(a.name)) for a in MOTION),
        Arg("strength", NUMERIC, FromSetting("strength"), 0, 1),
        Arg("noise", NUMERIC, 0.0, 0, 1),
        Arg("seed", NUMERIC, FromSetting("seed"), 0, SEED_MAX),
        Arg("steps", (T.NUMBER,), FromSetting("steps"), 1, 1000, integer=True),
        Arg("guidance", NUMERIC, FromSetting("guidance"), 0, 50),
        Arg("sampler", SAMPLER, FromSetting("sampler"), choices=SAMPLER_NAMES),
        Arg("negative", (T.STRING,), FromSetting("negative")),
        Arg("eta", (T.NUMBER,), FromSetting("eta"), 0, 1),
    ),
)
WANDER = OpSignature(
    "wander",
    "an endless smooth noise walk from a seed: the latent at the current frame",
    keywords=(SEED, Arg("every", (T.NUMBER,), 12, 1, 100000)),
)
AUDIO = OpSignature(
    "audio",
    "a WAV file beside the script that drives audio.* signals (live: played in sync)",
    (Arg("path", (T.STRING,)),),
)
SAVE = OpSignature(
    "save",
    "write the previous output (or a value) to a file: PNG, GIF, MP4, or a frame pattern",
    (Arg("value", ANY_IMAGE + ANY_LATENT + (T.CONDS,), None), Arg("path", (T.STRING,))),
    (
        Arg("fps", (T.NUMBER,), FromSetting("fps"), 1, 120),
        Arg("audio", (T.STRING,), None),
    ),
)
