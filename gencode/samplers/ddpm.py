"""DDPM ancestral sampling (Ho et al. 2020): draw from the posterior q(x_{t-1} | x_t, x0)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from gencode.samplers import register
from gencode.samplers.common import denoise, noise_like, report


def posterior(sigma: torch.Tensor, sigma_next: torch.Tensor):
    """(coef_x0, coef_x, std) of the DDPM posterior, written in σ (x = x0 + σε) rather than ā."""
    a, a_next = 1 / (1 + sigma**2), 1 / (1 + sigma_next**2)  # ā_t, ā_{t-1}
    beta = 1 - a / a_next  # the step's β between the two sampled timesteps
    coef_x0 = beta / (1 - a)
    coef_x = (a / a_next) * (1 - a_next) / (1 - a)
    std = ((1 - a_next) / (1 - a) * beta / a_next).sqrt()
    return coef_x0, coef_x, std


@register("ddpm")
def sample_ddpm(
    model: Callable,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    *,
    extra_args=None,
    callback=None,
    generator: torch.Generator | None = None,
    **opts,
) -> torch.Tensor:
    """DDPM (Ho et al. 2020, Algorithm 2) with the predicted x0 plugged into the posterior."""
    for i in range(len(sigmas) - 1):
        denoised = denoise(model, x, sigmas[i], extra_args)
        report(callback, i, x, sigmas[i], denoised)
        if sigmas[i + 1] == 0:
            x = denoised
            continue
        coef_x0, coef_x, std = posterior(sigmas[i], sigmas[i + 1])
        x = coef_x0 * denoised + coef_x * x + noise_like(x, generator) * std
    return x
