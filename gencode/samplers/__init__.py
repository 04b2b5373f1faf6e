"""Samplers: plain stateless functions of one shared signature (k-diffusion style), in a registry.

    sample_NAME(model, x, sigmas, *, extra_args=None, callback=None, generator=None, **opts) -> x

`model(x, sigma, **extra_args) -> denoised` is a denoiser (see `denoisers`); `x` starts at
noise·sigmas[0] (or an image plus that noise, for img2img); `sigmas` descend to 0. Any noise is
drawn on the CPU from `generator` (one, or one per batch row) and moved to x's device, so a seed
means the same image anywhere and a batch equals its frames sampled one by one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Filled by @register as the family modules are imported. Those import torch, so they are loaded
# on first use of SAMPLERS / get_sampler: `gencode.samplers.names` stays importable without torch.
_REGISTRY: dict[str, Callable] = {}


def register(name: str) -> Callable[[Callable], Callable]:
    """Decorator: add a sampler function to SAMPLERS under `name`."""

    def deco(fn: Callable) -> Callable:
        if name in _REGISTRY:
            raise ValueError(f"sampler {name!r} registered twice")
        _REGISTRY[name] = fn
        return fn

    return deco


def _samplers() -> dict[str, Callable]:
    """The registry, complete: the sampler families, imported explicitly so it is greppable."""
    from gencode.samplers import ddim, ddpm, dpmpp, euler  # noqa: F401

    return _REGISTRY


def get_sampler(name: str) -> Callable:
    """The sampler function of a name, with a clear error listing the known ones."""
    if name.startswith("diffusers:"):  # a diffusers scheduler, driven through a bridge
        from gencode.samplers.diffusers_bridge import scheduler_sampler

        return scheduler_sampler(name)
    samplers = _samplers()
    if name not in samplers:
        raise KeyError(f"unknown sampler {name!r}; known: {', '.join(sorted(samplers))}")
    return samplers[name]


def __getattr__(attr: str) -> Any:
    """`SAMPLERS`: the name → sampler function registry (loaded on first access)."""
    if attr == "SAMPLERS":
        return _samplers()
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")
