"""Euler-family samplers on the probability-flow ODE (Karras et al. 2022, k-diffusion)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from gencode.samplers import register
from gencode.samplers.common import ancestral_step, denoise, noise_like, report, to_d


@register("euler")
def sample_euler(
    model: Callable,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    *,
    extra_args=None,
    callback=None,
    generator: torch.Generator | None = None,
    **opts,
) -> torch.Tensor:
    """Euler's method on the ODE (Karras et al. 2022, Algorithm 2 without churn); deterministic."""
    for i in range(len(sigmas) - 1):
        denoised = denoise(model, x, sigmas[i], extra_args)
        report(callback, i, x, sigmas[i], denoised)
        x = x + to_d(x, sigmas[i], denoised) * (sigmas[i + 1] - sigmas[i])
    return x


@register("euler_ancestral")
def sample_euler_ancestral(
    model: Callable,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    *,
    extra_args=None,
    callback=None,
    generator: torch.Generator | None = None,
    eta: float = 1.0,
    **opts,
) -> torch.Tensor:
    """Euler steps to sigma_down, then fresh noise up to sigma_next (k-diffusion's ancestral)."""
    for i in range(len(sigmas) - 1):
        denoised = denoise(model, x, sigmas[i], extra_args)
        report(callback, i, x, sigmas[i], denoised)
        down, up = ancestral_step(sigmas[i], sigmas[i + 1], eta)
        x = x + to_d(x, sigmas[i], denoised) * (down - sigmas[i])
        if up > 0:
            x = x + noise_like(x, generator) * up
    return x


@register("heun")
def sample_heun(
    model: Callable,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    *,
    extra_args=None,
    callback=None,
    generator: torch.Generator | None = None,
    **opts,
) -> torch.Tensor:
    """Heun's second-order method (Karras et al. 2022, Algorithm 1); Euler on the last step."""
    for i in range(len(sigmas) - 1):
        denoised = denoise(model, x, sigmas[i], extra_args)
        report(callback, i, x, sigmas[i], denoised)
        d = to_d(x, sigmas[i], denoised)
        dt = sigmas[i + 1] - sigmas[i]
        if sigmas[i + 1] == 0:
            x = x + d * dt
            continue
        x_2 = x + d * dt
        d_2 = to_d(x_2, sigmas[i + 1], denoise(model, x_2, sigmas[i + 1], extra_args))
        x = x + (d + d_2) / 2 * dt
    return x
