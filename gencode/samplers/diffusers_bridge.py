"""diffusers' schedulers as gencode samplers: `sampler "diffusers:DPMSolverMultistepScheduler"`.

    sample = scheduler_sampler(name)  # the samplers' shared signature, plus opts["steps"]

The scheduler is built from the model's own scheduler config (a Stable Diffusion folder's), or
from the training sigmas of a gencode model, and picks its timesteps itself from the full step
count, as a diffusers pipeline would (img2img runs the tail, like diffusers' img2img). Each step
converts gencode's denoiser (x, σ → denoised, CFG included) into the ε the scheduler expects, so
the prediction type is still adapted by the wrapper and never seen here.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch

from gencode.models.checkpoint import CheckpointError
from gencode.samplers.common import Generators, report
from gencode.samplers.names import DIFFUSERS_PREFIX, DIFFUSERS_SCHEDULERS


def scheduler_sampler(name: str) -> Callable[..., torch.Tensor]:
    """A sampler function driving the diffusers scheduler class `name` (prefix optional)."""
    cls_name = name.removeprefix(DIFFUSERS_PREFIX)
    if cls_name not in DIFFUSERS_SCHEDULERS:
        raise KeyError(
            f"unknown diffusers scheduler {cls_name!r}; known: {', '.join(DIFFUSERS_SCHEDULERS)}"
        )

    def sample(
        model: Callable[..., torch.Tensor],
        x: torch.Tensor,
        sigmas: torch.Tensor,
        *,
        extra_args: dict[str, Any] | None = None,
        callback: Callable | None = None,
        generator: Generators = None,
        steps: int | None = None,
        **opts: Any,
    ) -> torch.Tensor:
        inner = getattr(model, "inner", model)  # past the CFG wrapper, to the model's denoiser
        scheduler = _scheduler(cls_name, inner)
        timesteps = _timesteps(scheduler, len(sigmas) - 1, steps)
        run = _Run(model, inner, scheduler, extra_args or {}, generator, opts)
        sample_x = run.start(x, float(sigmas[0]), timesteps[0])
        for i, t in enumerate(timesteps):
            sample_x, denoised = run.step(sample_x, t)
            report(callback, i, sample_x, run.sigma(t), denoised)
        return sample_x

    sample.__name__ = f"sample_diffusers_{cls_name}"
    sample.__doc__ = f"diffusers' {cls_name}, stepped by gencode's denoiser."
    return sample


def _scheduler(cls_name: str, inner: Any) -> Any:
    """A fresh scheduler (they keep step state) configured for this model, predicting ε."""
    try:
        import diffusers
    except ImportError:
        raise CheckpointError(
            f"sampler 'diffusers:{cls_name}' needs diffusers: pip install '.[sd]'"
        ) from None
    try:
        cls = getattr(diffusers, cls_name)
        config = dict(getattr(inner, "scheduler_config", None) or _config_of(inner))
        return cls.from_config({**config, "prediction_type": "epsilon"})
    except (ImportError, AttributeError) as e:  # e.g. a scheduler that needs scipy
        raise CheckpointError(f"sampler 'diffusers:{cls_name}' can't be used here: {e}") from None


def _config_of(inner: Any) -> dict[str, Any]:
    """A scheduler config for a gencode model: its training betas, trailing spacing."""
    alphas_cumprod = 1 / (1 + inner.sigmas.double().cpu() ** 2)  # (T,)
    previous = torch.cat([alphas_cumprod.new_ones(1), alphas_cumprod[:-1]])
    betas = 1 - alphas_cumprod / previous
    return {
        "num_train_timesteps": len(betas),
        "trained_betas": betas.tolist(),
        "timestep_spacing": "trailing",
    }


def _timesteps(scheduler: Any, run_steps: int, steps: int | None) -> torch.Tensor:
    """The scheduler's timesteps for the full count, cut to the tail this run covers."""
    total = int(steps or run_steps)
    scheduler.set_timesteps(total)
    start = max(total - run_steps, 0) * scheduler.order
    if start and hasattr(scheduler, "set_begin_index"):
        scheduler.set_begin_index(start)
    return scheduler.timesteps[start:]


class _Run:
    """One sampling run: the scheduler's sample, and calls into gencode's denoiser."""

    def __init__(self, model, inner, scheduler, extra, generator, opts) -> None:
        self.model, self.scheduler, self.extra = model, scheduler, extra
        self.step_kwargs = dict(opts)
        params = inspect.signature(scheduler.step).parameters
        if "generator" in params:
            self.step_kwargs["generator"] = (
                list(generator) if isinstance(generator, list | tuple) else generator
            )
        self.step_kwargs = {k: v for k, v in self.step_kwargs.items() if k in params}
        # On the CPU, like the schedulers' own timesteps and sigmas.
        self.log_sigmas = inner.sigmas.float().log().cpu()  # (T,)

    def sigma(self, t: torch.Tensor) -> torch.Tensor:
        """σ of a (fractional) training timestep, interpolated in log σ like the denoiser."""
        t = t.float().clamp(0, len(self.log_sigmas) - 1)
        low = t.floor().long().clamp(max=len(self.log_sigmas) - 2)
        w = t - low
        return ((1 - w) * self.log_sigmas[low] + w * self.log_sigmas[low + 1]).exp()

    def start(self, x: torch.Tensor, sigma0: float, t0: torch.Tensor) -> torch.Tensor:
        """gencode's start x = x0 + σ0·ε, in the scheduler's space (VP, or VE for Euler-like)."""
        x_vp = x.float() / (sigma0**2 + 1) ** 0.5
        if float(self.scheduler.init_noise_sigma) == 1.0:  # VP schedulers: DDIM, DPM-Solver, ...
            return x_vp
        return x_vp * (self.sigma(t0).to(x.device) ** 2 + 1).sqrt()

    def step(self, sample: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One scheduler step from ε = (x − denoised) / σ of gencode's denoiser."""
        x_vp = self.scheduler.scale_model_input(sample, t).float()
        sigma = self.sigma(t).to(sample.device)
        x = x_vp * (sigma**2 + 1).sqrt()  # the same point as x0 + σ·ε
        denoised = self.model(x, sigma * x.new_ones(x.shape[0]), **self.extra).float()
        eps = (x - denoised) / sigma
        out = self.scheduler.step(eps, t, sample, **self.step_kwargs)
        return out.prev_sample.float(), denoised
