"""Samplers: plain stateless functions of one shared signature (k-diffusion style), in a registry.

    sample_NAME(model, x, sigmas, *, extra_args=None, callback=None, generator=None, **opts) -> x

`model(x, sigma, **extra_args) -> denoised` is a denoiser (see `denoisers`); `x` starts at
noise·sigmas[0] (or an image plus that noise, for img2img); `sigmas` descend to 0. Any noise is
drawn on the CPU from `generator` (one, or one per batch row) and moved to x's device, so a seed
means the same image anywhere and a batch equals its frames sampled one by one.
"""

from __future__ import annotations

from collections.abc import Callable

SAMPLERS: dict[str, Callable] = {}


def register(name: str) -> Callable[[Callable], Callable]:
    """Decorator: add a sampler function to SAMPLERS under `name`."""

    def deco(fn: Callable) -> Callable:
        if name in SAMPLERS:
            raise ValueError(f"sampler {name!r} registered twice")
        SAMPLERS[name] = fn
        return fn

    return deco


def get_sampler(name: str) -> Callable:
    """The sampler function of a name, with a clear error listing the known ones."""
    if name not in SAMPLERS:
        raise KeyError(f"unknown sampler {name!r}; known: {', '.join(sorted(SAMPLERS))}")
    return SAMPLERS[name]


# The sampler families, imported explicitly so the registry is complete and greppable.
from gencode.samplers import ddim, ddpm, dpmpp, euler  # noqa: E402, F401
