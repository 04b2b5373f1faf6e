"""Sampler and schedule names, torch-free, so the checker can validate `sampler ddim` without torch.

Kept in step with the registry in `gencode.samplers` by a test.
"""

from __future__ import annotations

SAMPLER_NAMES: tuple[str, ...] = ("ddim", "ddpm", "dpmpp_2m", "euler", "euler_ancestral", "heun")
SCHEDULE_NAMES: tuple[str, ...] = ("linear", "cosine")
SPACINGS: tuple[str, ...] = ("leading", "trailing")
DEFAULT_SAMPLER = "ddim"
