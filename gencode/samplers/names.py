"""Sampler facts, torch-free: names, the options each takes, the label other tools print.

The checker validates `sampler ddim` and `eta 0.5` from this table without torch; provenance
prints its labels; a test keeps it in step with the registry of sampler functions in
`gencode.samplers`. Adding a sampler is its function plus one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SamplerSpec:
    label: str  # the name AUTOMATIC1111 prints, so its "send to txt2img" picks the same sampler
    options: dict[str, float] = field(default_factory=dict)  # option → its default


SAMPLER_SPECS: dict[str, SamplerSpec] = {
    "ddim": SamplerSpec("DDIM", {"eta": 0.0}),  # eta 0 deterministic, 1 like DDPM's posterior
    "ddpm": SamplerSpec("DDPM"),
    "dpmpp_2m": SamplerSpec("DPM++ 2M"),
    "euler": SamplerSpec("Euler"),
    "euler_ancestral": SamplerSpec("Euler a", {"eta": 1.0}),
    "heun": SamplerSpec("Heun"),
}
SAMPLER_NAMES: tuple[str, ...] = tuple(SAMPLER_SPECS)
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


def sampler_options(name: str, given: dict[str, float | None]) -> dict[str, float]:
    """The options a sampler runs with: each it takes, given or its default. Raises ValueError
    naming an option given a value that this sampler would ignore."""
    spec = SAMPLER_SPECS.get(name)
    takes = spec.options if spec else {}
    for option, value in given.items():
        if value is not None and option not in takes:
            users = [n for n, s in SAMPLER_SPECS.items() if option in s.options]
            raise ValueError(
                f"sampler '{name}' takes no {option} ({option} {value:g} would be ignored); "
                f"{option} applies to {' and '.join(users)}"
            )
    return {k: float(v if (v := given.get(k)) is not None else d) for k, d in takes.items()}


def label(name: str) -> str:
    """A sampler's label for other tools: never a ':' (sd-parsers reads one as a field break)."""
    if name in SAMPLER_SPECS:
        return SAMPLER_SPECS[name].label
    return name.removeprefix(DIFFUSERS_PREFIX).replace(":", " ")


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
