"""DPM-Solver++ samplers (Lu et al. 2022): fast, high-order, deterministic."""

from __future__ import annotations

from collections.abc import Callable

import torch

from gencode.samplers import register
from gencode.samplers.common import denoise, report


@register("dpmpp_2m")
def sample_dpmpp_2m(
    model: Callable,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    *,
    extra_args=None,
    callback=None,
    generator: torch.Generator | None = None,
    **opts,
) -> torch.Tensor:
    """DPM-Solver++(2M) (Lu et al. 2022, Algorithm 2), multistep in t = −log σ."""
    old_denoised, h_last = None, None
    for i in range(len(sigmas) - 1):
        denoised = denoise(model, x, sigmas[i], extra_args)
        report(callback, i, x, sigmas[i], denoised)
        if sigmas[i + 1] == 0:
            x = denoised
            continue
        h = sigmas[i].log() - sigmas[i + 1].log()
        d = denoised
        if old_denoised is not None and h_last is not None:
            r = h_last / h
            d = (1 + 1 / (2 * r)) * denoised - (1 / (2 * r)) * old_denoised
        x = (sigmas[i + 1] / sigmas[i]) * x - torch.expm1(-h) * d
        old_denoised, h_last = denoised, h
    return x
