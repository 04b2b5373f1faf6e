"""Sampler and schedule names, torch-free, so the checker can validate `sampler ddim` without torch.

Kept in step with the registry in `gencode.samplers` by a test.
"""

from __future__ import annotations

SAMPLER_NAMES: tuple[str, ...] = ("ddim", "ddpm", "dpmpp_2m", "euler", "euler_ancestral", "heun")
SCHEDULE_NAMES: tuple[str, ...] = ("linear", "cosine")
SPACINGS: tuple[str, ...] = ("leading", "trailing")
DEFAULT_SAMPLER = "ddim"

# diffusers' schedulers a script may name as `sampler "diffusers:DPMSolverMultistepScheduler"`
# (run by gencode.samplers.diffusers_bridge; they need the 'sd' extra).
DIFFUSERS_PREFIX = "diffusers:"
DIFFUSERS_SCHEDULERS: tuple[str, ...] = (
    "DDIMScheduler",
    "DDPMScheduler",
    "DEISMultistepScheduler",
    "DPMSolverMultistepScheduler",
    "DPMSolverSDEScheduler",  # needs torchsde
    "DPMSolverSinglestepScheduler",
    "EulerAncestralDiscreteScheduler",
    "EulerDiscreteScheduler",
    "HeunDiscreteScheduler",
    "KDPM2AncestralDiscreteScheduler",
    "KDPM2DiscreteScheduler",
    "LCMScheduler",
    "LMSDiscreteScheduler",  # needs scipy
    "PNDMScheduler",
    "SASolverScheduler",
    "TCDScheduler",
    "UniPCMultistepScheduler",
)


def sampler_problem(name: str) -> str | None:
    """What is wrong with a sampler written as a string (`"diffusers:NAME"`), or None."""
    if not name.startswith(DIFFUSERS_PREFIX):
        return (
            f"unknown sampler '{name}': write a gencode sampler as a bare word "
            f'({", ".join(SAMPLER_NAMES)}) or a diffusers scheduler as "diffusers:NAME"'
        )
    cls = name.removeprefix(DIFFUSERS_PREFIX)
    if cls not in DIFFUSERS_SCHEDULERS:
        from gencode.errors import did_you_mean

        return (
            f"unknown diffusers scheduler '{cls}'{did_you_mean(cls, DIFFUSERS_SCHEDULERS)} "
            f"(choose from {', '.join(DIFFUSERS_SCHEDULERS)})"
        )
    return None
