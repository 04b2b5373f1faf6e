"""Noise schedules: beta schedules → alphas_cumprod → the k-diffusion sigmas a sampler walks.

A discrete DDPM with cumulative alphas ā_t is the same process as x = x0 + σ·ε with
σ_t = sqrt((1 - ā_t) / ā_t); samplers work in σ and never see t.
"""

from __future__ import annotations

import math

import torch

from gencode.samplers.names import SCHEDULE_NAMES, SPACINGS


def linear_betas(timesteps: int = 1000, start: float = 1e-4, end: float = 0.02) -> torch.Tensor:
    """The DDPM paper's linear betas (Ho et al. 2020), float64 (T,)."""
    return torch.linspace(start, end, timesteps, dtype=torch.float64)


def cosine_betas(timesteps: int = 1000, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """The cosine schedule (Nichol & Dhariwal 2021), betas clipped at max_beta, float64 (T,)."""
    steps = torch.arange(timesteps + 1, dtype=torch.float64) / timesteps
    f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2  # (T+1,)
    return (1 - f[1:] / f[:-1]).clamp(max=max_beta)


def alphas_cumprod(name: str = "linear", timesteps: int = 1000) -> torch.Tensor:
    """ā_t of a named schedule, float64 (T,), decreasing from ~1 towards 0."""
    if name == "linear":
        betas = linear_betas(timesteps)
    elif name == "cosine":
        betas = cosine_betas(timesteps)
    else:
        raise ValueError(f"unknown noise schedule {name!r}; known: {', '.join(SCHEDULE_NAMES)}")
    return torch.cumprod(1 - betas, dim=0)


def to_sigmas(alphas_cumprod: torch.Tensor) -> torch.Tensor:
    """σ_t = sqrt((1 - ā_t) / ā_t) for every training timestep, (T,) increasing."""
    return ((1 - alphas_cumprod) / alphas_cumprod).sqrt()


def timesteps_for(num_train: int, steps: int, spacing: str = "trailing") -> torch.Tensor:
    """The training timesteps a `steps`-step sampler visits, descending (steps,)."""
    if not 1 <= steps <= num_train:
        raise ValueError(f"steps must be between 1 and {num_train}, got {steps}")
    if spacing == "leading":  # DDIM's original spacing: 0, k, 2k, ... (never reaches T-1)
        return (torch.arange(steps, dtype=torch.float64) * (num_train // steps)).flip(0)
    if spacing == "trailing":  # starts at T-1, so the first step sees (almost) pure noise
        return torch.arange(num_train, 0, -num_train / steps, dtype=torch.float64).round() - 1
    raise ValueError(f"unknown timestep spacing {spacing!r}; known: {', '.join(SPACINGS)}")


def get_sigmas(alphas_cumprod: torch.Tensor, steps: int, spacing: str = "trailing") -> torch.Tensor:
    """Descending sigmas for a sampler, ending with 0: float32 (steps + 1,)."""
    all_sigmas = to_sigmas(alphas_cumprod)
    t = timesteps_for(len(alphas_cumprod), steps, spacing).long()
    return torch.cat([all_sigmas[t], all_sigmas.new_zeros(1)]).float()


def flow_sigmas(steps: int, shift: float = 1.0, t_max: float = 0.999) -> torch.Tensor:
    """Descending sigmas of a rectified-flow model for a sampler, ending with 0: (steps + 1,).

    A flow model's x_t = (1 − t)·x0 + t·ε is x0 + σ·ε scaled by 1/(1 + σ) with σ = t / (1 − t),
    so every k-diffusion sampler walks it unchanged (Euler in σ is Euler in t). Times are spaced
    evenly, then shifted towards the noisy end by `shift` (SD3's t' = s·t / (1 + (s − 1)·t)).
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    u = torch.linspace(t_max, 0.0, steps + 1, dtype=torch.float64)
    t = shift * u / (1 + (shift - 1) * u)
    return (t / (1 - t)).float()


def img2img_sigmas(sigmas: torch.Tensor, strength: float) -> torch.Tensor:
    """The tail of a sigma list for img2img: strength 1 keeps all steps, 0 keeps none."""
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be between 0 and 1, got {strength}")
    steps = len(sigmas) - 1
    start = steps - int(round(steps * strength))
    return sigmas[start:]


def noised(x0: torch.Tensor, noise: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
    """The start of a sampler at a given sigma: x0 + σ·ε (pure noise when x0 is zero)."""
    return x0 + noise * sigma
