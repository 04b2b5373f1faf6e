"""A loaded diffusion checkpoint: network + schedule + vocabulary, ready for the samplers.

This is the runtime's entry point for pixel-space diffusion models:

    model = load_diffusion("gencode/weights/scenes.safetensors")
    cond, unknown = model.encode(["dunes at night"])             # (B, D), unknown words
    uncond = model.null(1)                                       # (B, D)
    sigmas = model.sigmas(steps=20)                              # (steps + 1,)
    x = noise * sigmas[0]
    x = SAMPLERS["ddim"](model.denoiser(guidance=3.0), x, sigmas, generator=g,
                         extra_args={"cond": cond, "uncond": uncond})
    images = model.to_images(x)                                  # uint8 (B, H, W, 3)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import torch

from gencode.data.words import tokenize_with, unknown_words
from gencode.models.checkpoint import (
    CheckpointError,
    CheckpointInfo,
    file_sha256,
    load_tensors,
    read_info,
)
from gencode.models.unet import UNet, UNetConfig
from gencode.samplers.denoisers import GuidedDenoiser, build_denoiser
from gencode.samplers.schedules import alphas_cumprod, get_sigmas


@dataclass
class DiffusionModel:
    """A UNet with what its checkpoint says about it (vocabulary, schedule, defaults)."""

    net: UNet
    info: CheckpointInfo
    sha256: str

    @property
    def meta(self) -> dict[str, Any]:
        return self.info.meta

    @property
    def vocabulary(self) -> list[str]:
        return list(self.meta.get("vocabulary", []))

    @cached_property
    def alphas_cumprod(self) -> torch.Tensor:
        """ā_t of the schedule the model was trained with, float64 (T,)."""
        return alphas_cumprod(self.meta.get("schedule", "linear"), self.meta.get("timesteps", 1000))

    def tokenize(self, prompt: str) -> tuple[list[str], list[str]]:
        """(known words, unknown words) of a prompt for this model's vocabulary."""
        known, _ = tokenize_with(prompt, self.vocabulary, self.meta.get("aliases", {}))
        return known, unknown_words(prompt, self.meta)

    def encode(self, prompts: list[str]) -> tuple[torch.Tensor, list[str]]:
        """Conditions (B, D) for prompts, and the words the model does not know (to warn about)."""
        ids, unknown = [], []
        for p in prompts:
            known, bad = self.tokenize(p)
            ids.append([self.vocabulary.index(w) for w in known])
            unknown.extend(w for w in bad if w not in unknown)
        with torch.no_grad():
            return self.net.encode_prompt(ids), unknown

    def null(self, batch: int) -> torch.Tensor:
        """The unconditional (empty prompt) condition (B, D), for classifier-free guidance."""
        with torch.no_grad():
            return self.net.null_condition(batch).clone()

    def denoiser(self, guidance: float | None = None) -> Any:
        """k-diffusion style `model(x, sigma, cond=[, uncond=]) -> denoised`; with `guidance`,
        classifier-free guided at that scale (then `uncond` is needed)."""
        prediction = self.net.config.prediction
        inner = build_denoiser(self.net, self.alphas_cumprod, prediction).to(
            next(self.net.parameters()).device
        )
        return inner if guidance is None else GuidedDenoiser(inner, [guidance])

    def sigmas(self, steps: int | None = None, spacing: str | None = None) -> torch.Tensor:
        """Descending sigmas ending in 0 for a given number of steps (default: the model's)."""
        steps = steps or int(self.meta.get("default_steps", 20))
        return get_sigmas(
            self.alphas_cumprod, steps, spacing or self.meta.get("spacing", "trailing")
        )

    @staticmethod
    def to_images(x: torch.Tensor) -> np.ndarray:
        """Model-space images (B, 3, H, W) in [-1, 1] → uint8 (B, H, W, 3)."""
        x = ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        return x.permute(0, 2, 3, 1).cpu().numpy()

    @staticmethod
    def from_images(images: np.ndarray) -> torch.Tensor:
        """uint8 (B, H, W, 3) → model-space (B, 3, H, W) in [-1, 1] (the start of img2img)."""
        return (
            torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 127.5 - 1
        )


def load_diffusion(
    path: str | os.PathLike[str], device: str | torch.device = "cpu"
) -> DiffusionModel:
    """Load a gencode diffusion checkpoint (safetensors + config) onto a device, in eval mode."""
    info = read_info(path)
    if info.family != "diffusion" or info.arch != "unet":
        raise CheckpointError(f"{path}: a {info.family}/{info.arch} checkpoint, not diffusion/unet")
    net = UNet(UNetConfig.from_dict(info.config))
    try:
        net.load_state_dict(load_tensors(path))
    except RuntimeError as e:
        raise CheckpointError(f"{path}: weights do not match its config ({e})") from None
    return DiffusionModel(net.to(device).eval().requires_grad_(False), info, file_sha256(path))
