"""Generator ops: noise, prompts and their mixes, interpolation, latent arithmetic, GAN/VAE ops.

Input: a node and its input values. Output: a tensor on `ctx.device`. A latent is the model's
latent shape (C, H, W) or (D,); a prompt's conditioning is the model's condition shape; images
are (3, H, W) in [0, 1]; a sequence adds a leading frame axis. `diffuse` lives in `ops_diffuse`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from gencode.graph import Node
from gencode.ops.signatures import EASE_CURVES
from gencode.runtime.registry import OpContext
from gencode.seeds import hash_seed


class OpInputError(Exception):
    """An op's inputs don't fit its model (a latent of the wrong shape, an unknown attribute)."""


def model_of(ctx: OpContext, node: Node) -> Any:
    """The runtime model named by the node's `model` param."""
    return ctx.models.get(node.params["model"], ctx.root_dir)


def frame_seed(seed: int, frame: int, stream: str) -> int:
    """A seed for one frame's draws of one kind: a batch draws what one-at-a-time draws."""
    return hash_seed(f"{int(seed)}:{int(frame)}:{stream}")


def is_sequence(node: Node, i: int) -> bool:
    """Whether input i of a node is a sequence (has a frame axis)."""
    return node.inputs[i].length is not None


def as_batch(x: torch.Tensor, node: Node, i: int) -> torch.Tensor:
    """Input i with a frame axis: a sequence as is, a single value as a batch of one."""
    return x if is_sequence(node, i) else x[None]


def per_frame(x: torch.Tensor, node: Node, i: int, n: int) -> torch.Tensor:
    """Input i as n frames: a sequence as is, a single value repeated (a view, no copy)."""
    return x if is_sequence(node, i) else x[None].expand(n, *x.shape)


def in_chunks(
    ctx: OpContext, label: str, x: torch.Tensor, fn: Callable[[torch.Tensor], torch.Tensor]
) -> torch.Tensor:
    """fn over x's frames in batches of ctx.chunk, with progress and cancellation between them."""
    out, n, step = [], x.shape[0], max(int(ctx.chunk), 1)
    for start in range(0, n, step):
        ctx.check_cancelled()
        out.append(fn(x[start : start + step]))
        ctx.report(label, min(start + step, n), n)
    return torch.cat(out)


def unbatch(x: torch.Tensor, node: Node) -> torch.Tensor:
    """A batch back to the node's shape: a single value loses its frame axis."""
    return x if node.length is not None else x[0]


# ---- noise and prompts --------------------------------------------------------------------------


def noise(ctx: OpContext, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
    """Standard normal noise of the latent shape, drawn on the CPU from the node's seed."""
    shape = [int(s) for s in node.params["shape"]]
    z = torch.randn(shape, generator=ctx.generator(node.params["seed"]), dtype=torch.float32)
    return z.to(ctx.device)


def prompt(ctx: OpContext, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
    """A prompt's conditioning from the model's text encoder."""
    return model_of(ctx, node).encode_prompt([node.params["text"]])[0].to(ctx.device)


def mix(ctx: OpContext, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
    """Per-frame convex combinations of prompt conditionings (a scheduled prompt's cross-fade)."""
    conds = torch.stack([c.float() for c in inputs])  # (P, *cond)
    rows = node.params["weights"]
    w = torch.tensor(rows if node.length is not None else rows[:1], dtype=torch.float32)  # (F, P)
    out = torch.einsum("fp,p...->f...", w.to(conds.device), conds)  # (F, *cond)
    return unbatch(out, node)


# ---- interpolation ------------------------------------------------------------------------------


def ease_times(frames: int, ease: str) -> torch.Tensor:
    """Eased positions from 0 to 1 for `frames` frames, float64 (F,); a single frame sits at 0."""
    t = torch.linspace(0, 1, frames, dtype=torch.float64) if frames > 1 else torch.zeros(1)
    return EASE_CURVES[ease](t.double(), torch.cos).clamp(0, 1)


def lerp_coefficients(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Weights (1 - t, t): exact at both ends."""
    return 1 - t, t


def slerp_coefficients(
    a: torch.Tensor, b: torch.Tensor, t: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Spherical weights for a and b (Shoemake 1985); lerp's when they are (anti)parallel."""
    a64, b64 = a.double().flatten(), b.double().flatten()
    cos = (a64 @ b64) / (a64.norm() * b64.norm()).clamp_min(1e-30)
    omega = torch.arccos(cos.clamp(-1, 1)).cpu()
    if omega.abs() < 1e-4 or (math.pi - omega).abs() < 1e-4:
        return lerp_coefficients(t)
    so = torch.sin(omega)
    return torch.sin((1 - t) * omega) / so, torch.sin(t * omega) / so


def interpolate(ctx: OpContext, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
    """`frames` values from a to b by slerp or lerp on eased times; a and b are the ends."""
    a, b = (x.float() for x in inputs)
    t = ease_times(int(node.params["frames"]), str(node.params.get("ease", "linear")))
    if node.params.get("method", "lerp") == "slerp":
        ca, cb = slerp_coefficients(a, b, t)
    else:
        ca, cb = lerp_coefficients(t)
    shape = (-1, *([1] * a.ndim))
    ca, cb = (c.float().to(a.device).reshape(shape) for c in (ca, cb))  # (F, 1, ...)
    return ca * a[None] + cb * b[None]  # (F, *shape)


# ---- latent arithmetic --------------------------------------------------------------------------


def add(ctx: OpContext, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
    """a + b; a single latent and a sequence broadcast over the frames."""
    return inputs[0] + inputs[1]


def sub(ctx: OpContext, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
    """a - b, broadcasting like add."""
    return inputs[0] - inputs[1]


def scale(ctx: OpContext, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
    """factor · z."""
    return inputs[0] * float(node.params["factor"])


# ---- GAN and VAE --------------------------------------------------------------------------------


def _check_latent(model: Any, z: torch.Tensor, op: str) -> None:
    want = tuple(model.latent_shape)
    if tuple(z.shape[-len(want) :]) != want or z.ndim > len(want) + 1:
        raise OpInputError(
            f"{op}: a latent of shape {tuple(z.shape[1:])} for a model whose latents are {want}"
        )


def sample(ctx: OpContext, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
    """Images from a GAN's generator (or a VAE's decoder) for latents z."""
    model = model_of(ctx, node)
    z = as_batch(inputs[0], node, 0)  # (B, D)
    _check_latent(model, z, "sample")
    return unbatch(in_chunks(ctx, "sample", z, model.generate), node)


def decode(ctx: OpContext, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
    """Images from a VAE's decoder (a VAE model's, or a latent diffusion model's)."""
    model = model_of(ctx, node)
    z = as_batch(inputs[0], node, 0)  # (B, D)
    if model.family == "diffusion":  # a latent diffusion model's VAE (the checker set the size)
        return unbatch(in_chunks(ctx, "decode", z, model.to_image), node)
    _check_latent(model, z, "decode")
    return unbatch(in_chunks(ctx, "decode", z, model.decode), node)


def encode(ctx: OpContext, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
    """Latents (posterior means) of images from a VAE's encoder, resized to the model's size."""
    model = model_of(ctx, node)
    x = as_batch(inputs[0], node, 0)  # (B, 3, H, W)
    if model.family == "diffusion":  # a latent diffusion model's VAE takes any allowed size
        return unbatch(in_chunks(ctx, "encode", x, model.to_latent), node)
    size = tuple(model.image_shape()[-2:])
    if tuple(x.shape[-2:]) != size:
        x = torch.nn.functional.interpolate(
            x.float(), size=size, mode="bicubic", antialias=True, align_corners=False
        ).clamp(0, 1)
    return unbatch(in_chunks(ctx, "encode", x, model.encode), node)


def edit(ctx: OpContext, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
    """z moved by the model's attribute edits (directions; categorical values toward class means)."""
    from gencode.models.directions import edit_latent

    model = model_of(ctx, node)
    z = inputs[0].float()
    try:
        edited = edit_latent(z.reshape(-1, z.shape[-1]), node.params["edits"], model.directions)
    except KeyError:
        name = next(n for n in node.params["edits"] if n not in model.directions)
        known = ", ".join(sorted(model.directions)) or "none"
        raise OpInputError(f"edit: the model has no attribute '{name}' (it has: {known})") from None
    return edited.reshape(z.shape)
