"""The `diffuse` op: diffusion sampling from latents (txt2img) or from images (img2img), batched.

Input: (start latent(s) or image(s), cond(s), uncond(s)) and params {model, steps, guidance,
sampler, eta, seed, mode, strength}. Output: an image (3, H, W) or frames (N, 3, H, W) in [0, 1].

Frames run as batches of `ctx.chunk`, classifier-free guidance doubles each batch into a single
forward, and every random draw of frame f comes from generators seeded by (seed, f): a frame
rendered in a batch equals the same frame rendered alone (within float tolerance).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import torch

from gencode.graph import Node
from gencode.runtime.ops_gen import frame_seed, model_of, per_frame
from gencode.runtime.registry import OpContext
from gencode.samplers import get_sampler
from gencode.samplers.denoisers import GuidedDenoiser
from gencode.samplers.names import SAMPLER_SPECS
from gencode.samplers.schedules import img2img_sigmas


@dataclass
class Batch:
    """The frames of one sampler run: their positions in the output and what each needs."""

    positions: list[int]  # indices into the op's output
    frames: list[int]  # frame numbers, for the per-frame generators
    sigmas: torch.Tensor  # the schedule this batch walks (a tail of it for img2img)


def per_frame_values(value: Any, n: int) -> list[float]:
    """A number or a per-frame list as n floats."""
    if isinstance(value, list):
        if len(value) != n:
            raise ValueError(f"{len(value)} per-frame values for {n} frames")
        return [float(v) for v in value]
    return [float(value)] * n


@cache
def _per_row_noise() -> bool:
    """Whether the samplers accept one generator per batch row (else a batch shares one)."""
    from gencode.samplers.common import noise_like

    try:
        noise_like(torch.zeros(2, 1), [torch.Generator(), torch.Generator()])
        return True
    except (TypeError, ValueError, RuntimeError):
        return False


def _batches(ctx: OpContext, node: Node, sigmas: torch.Tensor, n: int) -> list[Batch]:
    """Frames grouped by the schedule they walk (img2img strengths), then cut into chunks."""
    frames = list(node.frames or range(n))  # set when only some frames run
    groups: dict[int, list[int]] = {}
    if node.params["mode"] == "img2img":
        for i, s in enumerate(per_frame_values(node.params["strength"], n)):
            groups.setdefault(len(img2img_sigmas(sigmas, s)), []).append(i)
    else:
        groups[len(sigmas)] = list(range(n))
    out, step = [], max(int(ctx.chunk), 1)
    for length, positions in sorted(groups.items()):
        for k in range(0, len(positions), step):
            chunk = positions[k : k + step]
            out.append(Batch(chunk, [frames[i] for i in chunk], sigmas[len(sigmas) - length :]))
    return out


def diffuse(ctx: OpContext, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
    """Sample every frame in chunked batches; returns images in [0, 1]."""
    model = model_of(ctx, node)
    n = node.length or 1
    start, cond, uncond = (per_frame(x, node, i, n) for i, x in enumerate(inputs))
    scales = per_frame_values(node.params["guidance"], n)
    sigmas = model.sigmas(int(node.params["steps"])).to(ctx.device)
    final = float(getattr(model, "final_sigma", lambda name: 0.0)(str(node.params["sampler"])))
    if final:  # the model's scheduler stops short of σ = 0 (DDIM with set_alpha_to_one false)
        sigmas = torch.cat([sigmas[:-1], sigmas.new_tensor([final])])
    batches = _batches(ctx, node, sigmas, n)
    progress = _Progress(ctx, sum(len(b.sigmas) - 1 for b in batches))
    out: list[torch.Tensor | None] = [None] * n
    for b in batches:
        idx = torch.tensor(b.positions, device=start.device)
        x = _start(ctx, model, node, start.index_select(0, idx), b)
        denoiser = GuidedDenoiser(model.denoiser(), [scales[i] for i in b.positions])
        extra = {
            "cond": cond.index_select(0, idx.to(cond.device)).to(ctx.device),
            "uncond": uncond.index_select(0, idx.to(uncond.device)).to(ctx.device),
        }
        x = _run_sampler(node, denoiser, x, b, extra, progress, ctx)
        if (
            final
        ):  # the sample at ā_0 in diffusers' (variance-preserving) scale, as its DDIM returns
            x = x / (1 + final**2) ** 0.5
        images = model.to_image(x)  # (B, 3, H, W)
        for j, i in enumerate(b.positions):
            out[i] = images[j]
    result = torch.stack(out)  # type: ignore[arg-type]  # (N, 3, H, W)
    return result if node.length is not None else result[0]


def _start(ctx: OpContext, model: Any, node: Node, start: torch.Tensor, b: Batch) -> torch.Tensor:
    """The sampler's first x: noise·σ_max, or an image's latent plus its frame's own noise·σ."""
    if node.params["mode"] != "img2img":
        return start.float().to(ctx.device) * b.sigmas[0]
    x0 = model.to_latent(start.to(ctx.device))  # (B, *latent)
    seed = int(node.params["seed"])
    noise = torch.stack(
        [
            torch.randn(x0.shape[1:], generator=ctx.generator(frame_seed(seed, f, "img2img")))
            for f in b.frames
        ]
    )  # (B, *latent), drawn on the CPU
    return x0.float() + noise.to(x0.device) * b.sigmas[0]


def _run_sampler(
    node: Node,
    denoiser: GuidedDenoiser,
    x: torch.Tensor,
    b: Batch,
    extra: dict[str, torch.Tensor],
    progress: _Progress,
    ctx: OpContext,
) -> torch.Tensor:
    """One sampler run over a batch, with per-frame generators for any noise it draws."""
    name = str(node.params["sampler"])
    seed = int(node.params["seed"])
    gens = [ctx.generator(frame_seed(seed, f, "sampler")) for f in b.frames]
    generator = gens if len(gens) > 1 and _per_row_noise() else gens[0]
    # The options compile resolved for this sampler (samplers.names), and only those.
    spec = SAMPLER_SPECS.get(name)
    opts: dict[str, Any] = {k: float(node.params.get(k, d)) for k, d in spec.options.items()} if spec else {}  # fmt: skip
    if name.startswith("diffusers:"):  # a diffusers scheduler picks its own timesteps from these
        opts["steps"] = int(node.params["steps"])
    return get_sampler(name)(
        denoiser, x, b.sigmas, extra_args=extra, callback=progress, generator=generator, **opts
    )


class _Progress:
    """The samplers' per-step callback: report steps done and stop at a cancel."""

    def __init__(self, ctx: OpContext, total: int):
        self.ctx, self.total, self.done = ctx, total, 0

    def __call__(self, info: dict[str, Any]) -> None:
        self.ctx.check_cancelled()
        self.done += 1
        self.ctx.report("diffuse", self.done, self.total)
