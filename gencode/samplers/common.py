"""What every sampler shares: noise from an explicit generator, the ancestral step split, callbacks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

Generators = torch.Generator | Sequence[torch.Generator] | None


def noise_like(x: torch.Tensor, generator: Generators) -> torch.Tensor:
    """Standard normal noise shaped like x, drawn on the CPU, moved to x's device.

    `generator` is one torch.Generator for the whole batch, or one per batch row, so that a
    batch of frames gets exactly the noise each frame would get if sampled on its own.
    """
    if generator is None:
        raise ValueError("this sampler draws noise: pass an explicit torch.Generator")
    if isinstance(generator, torch.Generator):
        return torch.randn(x.shape, generator=generator, dtype=torch.float32).to(x.device, x.dtype)
    gens = list(generator)
    if len(gens) != x.shape[0]:
        raise ValueError(f"{len(gens)} generators for a batch of {x.shape[0]}")
    rows = [torch.randn(x.shape[1:], generator=g, dtype=torch.float32) for g in gens]
    return torch.stack(rows).to(x.device, x.dtype)


def ancestral_step(sigma: torch.Tensor, sigma_next: torch.Tensor, eta: float = 1.0):
    """(sigma_down, sigma_up): a step to sigma_next split into a deterministic part and fresh noise."""
    if eta == 0 or sigma_next == 0:
        return sigma_next, torch.zeros_like(sigma_next)
    up = eta * (sigma_next**2 * (sigma**2 - sigma_next**2) / sigma**2).sqrt()
    up = torch.minimum(up, sigma_next)
    return (sigma_next**2 - up**2).sqrt(), up


def to_d(x: torch.Tensor, sigma: torch.Tensor, denoised: torch.Tensor) -> torch.Tensor:
    """The probability-flow ODE derivative dx/dσ = (x − denoised) / σ."""
    return (x - denoised) / sigma


def denoise(model: Callable, x: torch.Tensor, sigma: torch.Tensor, extra: dict[str, Any] | None):
    """Call the denoiser with sigma broadcast over the batch (B,)."""
    return model(x, sigma * x.new_ones(x.shape[0]), **(extra or {}))


def report(callback: Callable | None, i: int, x, sigma, denoised) -> None:
    """Tell an optional callback about step i (k-diffusion's dict)."""
    if callback is not None:
        callback({"i": i, "x": x, "sigma": sigma, "denoised": denoised})
