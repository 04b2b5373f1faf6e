"""Denoisers: adapt a network's prediction to k-diffusion's `model(x, sigma, **extra) -> denoised`.

The network sees the variance-preserving input x·c_in at a (fractional) discrete timestep t; the
wrapper turns its eps or v prediction into an estimate of the clean image. Samplers never branch
on the prediction type. Classifier-free guidance is one more wrapper around either.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn as nn

from gencode.samplers.schedules import to_sigmas


def _bcast(sigma: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Sigma (B,) or scalar shaped to broadcast against x (B, C, H, W)."""
    return sigma.reshape(-1, *([1] * (x.ndim - 1))).to(x.dtype)


class DiscreteDenoiser(nn.Module):
    """Shared part: sigma ↔ timestep mapping over the training schedule's discrete sigmas."""

    def __init__(self, net: nn.Module, alphas_cumprod: torch.Tensor):
        super().__init__()
        self.net = net
        sigmas = to_sigmas(alphas_cumprod).float()
        self.register_buffer("sigmas", sigmas, persistent=False)
        self.register_buffer("log_sigmas", sigmas.log(), persistent=False)

    def sigma_to_t(self, sigma: torch.Tensor) -> torch.Tensor:
        """Fractional timestep of a sigma, interpolated in log sigma (k-diffusion's rule)."""
        log_sigma = sigma.float().reshape(-1).log()  # (B,)
        dists = log_sigma[:, None] - self.log_sigmas[None]  # (B, T)
        low = dists.ge(0).cumsum(dim=1).argmax(dim=1).clamp(max=len(self.sigmas) - 2)  # (B,)
        lo, hi = self.log_sigmas[low], self.log_sigmas[low + 1]
        w = ((lo - log_sigma) / (lo - hi)).clamp(0, 1)
        return (1 - w) * low + w * (low + 1)

    def c_in(self, sigma: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Input scale that turns x = x0 + σε back into the network's VP input √ā·x."""
        return 1 / (_bcast(sigma, x) ** 2 + 1).sqrt()


class EpsDenoiser(DiscreteDenoiser):
    """For networks that predict the noise ε: denoised = x − σ·ε."""

    def forward(self, x: torch.Tensor, sigma: torch.Tensor, **extra) -> torch.Tensor:
        eps = self.net(x * self.c_in(sigma, x), self.sigma_to_t(sigma), **extra)
        return x - eps * _bcast(sigma, x)


class VDenoiser(DiscreteDenoiser):
    """For networks that predict v = √ā·ε − √(1−ā)·x0 (Salimans & Ho 2022)."""

    def forward(self, x: torch.Tensor, sigma: torch.Tensor, **extra) -> torch.Tensor:
        s = _bcast(sigma, x)
        v = self.net(x * self.c_in(sigma, x), self.sigma_to_t(sigma), **extra)
        return x / (s**2 + 1) - v * s / (s**2 + 1).sqrt()


class Float32Out(nn.Module):
    """Runs a network as is (autocast may lower its precision) and hands float32 back."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None = None):
        return self.net(x, t, cond).float()


class GuidedDenoiser:
    """Classifier-free guidance with a scale per batch row; cond and uncond in one forward."""

    def __init__(self, inner: Callable[..., torch.Tensor], scales: Sequence[float]):
        self.inner = inner
        off_at = getattr(inner, "guidance_off_at", None)  # SD models: guidance <= 1 means none
        if off_at is not None:
            scales = [1.0 if float(s) <= off_at else s for s in scales]
        self.scales = torch.tensor([float(s) for s in scales])  # (B,)
        self.unguided = all(float(s) == 1.0 for s in scales)  # decided once, not per step

    def __call__(
        self, x: torch.Tensor, sigma: torch.Tensor, *, cond: torch.Tensor, uncond: torch.Tensor
    ) -> torch.Tensor:
        if self.unguided:  # the unconditional half would be multiplied by zero: skip it
            return self.inner(x, sigma, cond=cond).float()
        out = self.inner(
            torch.cat([x, x]), torch.cat([sigma, sigma]), cond=torch.cat([uncond, cond])
        )
        u, c = out.float().chunk(2)  # (B, ...) each
        s = self.scales.to(u.device).reshape(-1, *([1] * (u.ndim - 1)))  # (B, 1, 1, 1)
        return u + (c - u) * s


class FlowDenoiser(nn.Module):
    """For rectified-flow networks that predict the velocity v = ε − x0 at time t ∈ [0, 1].

    x = x0 + σ·ε is x_t·(1 + σ) with t = σ / (1 + σ); the network sees x_t and 1000·t (the
    UNet's timestep scale), and denoised = x_t − t·v.
    """

    def __init__(self, net: nn.Module, alphas_cumprod: torch.Tensor | None = None):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor, sigma: torch.Tensor, **extra) -> torch.Tensor:
        s = _bcast(sigma, x)
        t = sigma.float().reshape(-1) / (1 + sigma.float().reshape(-1))  # (B,)
        x_t = x / (1 + s)
        v = self.net(x_t, t * 1000, **extra)
        return x_t - _bcast(t, x) * v


PREDICTIONS = {"eps": EpsDenoiser, "v": VDenoiser, "flow": FlowDenoiser}


def build_denoiser(
    net: nn.Module, alphas_cumprod: torch.Tensor | None, prediction: str = "eps"
) -> nn.Module:
    """The denoiser for a network of the given prediction type (unguided: `GuidedDenoiser`
    adds classifier-free guidance)."""
    if prediction not in PREDICTIONS:
        raise ValueError(f"unknown prediction type {prediction!r}; known: {', '.join(PREDICTIONS)}")
    inner = PREDICTIONS[prediction](net, alphas_cumprod)
    return inner
