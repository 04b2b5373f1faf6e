"""DDIM (Song et al. 2021) in sigma form: eta 0 is deterministic, eta 1 matches DDPM's posterior."""

from __future__ import annotations

from collections.abc import Callable

import torch

from gencode.samplers import register
from gencode.samplers.common import ancestral_step, denoise, noise_like, report


@register("ddim")
def sample_ddim(
    model: Callable,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    *,
    extra_args=None,
    callback=None,
    generator: torch.Generator | None = None,
    eta: float = 0.0,
    **opts,
) -> torch.Tensor:
    """DDIM (Song et al. 2021, eq. 12): x' = x0 + σ_down·ε + σ_up·z with σ_up scaled by eta."""
    for i in range(len(sigmas) - 1):
        denoised = denoise(model, x, sigmas[i], extra_args)
        report(callback, i, x, sigmas[i], denoised)
        eps = (x - denoised) / sigmas[i]
        down, up = ancestral_step(sigmas[i], sigmas[i + 1], eta)
        x = denoised + eps * down
        if up > 0:
            x = x + noise_like(x, generator) * up
    return x
