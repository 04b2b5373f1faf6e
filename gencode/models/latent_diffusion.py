"""Latent diffusion: a text-conditioned UNet on the latents of gencode's own autoencoder.

One checkpoint (family "diffusion", arch "ldm") holds both networks (`unet.*`, `autoencoder.*`),
so the file's sha256 names the whole model. The UNet is a rectified flow (it predicts the
velocity ε − x0); `sigmas(steps)` gives the k-diffusion sigmas of its shifted time grid, so every
registered sampler runs it. `LatentDiffusion` is the runtime's `DiffusionRuntime`: prompts in,
denoiser, sigmas, images ⇄ latents through the autoencoder (as a Stable Diffusion folder does).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from gencode.data.words import tokenize_with
from gencode.models.autoencoder import Autoencoder, AutoencoderConfig
from gencode.models.checkpoint import CheckpointError, load_tensors, read_info
from gencode.models.unet import UNet, UNetConfig
from gencode.samplers.denoisers import Float32Out, build_denoiser
from gencode.samplers.schedules import flow_sigmas

# Convolutions run faster channels-last on a CPU (oneDNN): the autoencoder's thin full-resolution
# ones 1.3-2x, the UNet's 1.1-1.5x. Weights (and the autoencoder's inputs) are kept this way.
FORMAT = torch.channels_last


def split_tensors(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The `prefix.*` tensors of a checkpoint with the prefix removed."""
    n = len(prefix) + 1
    return {k[n:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


@dataclass
class LatentDiffusion:
    """A latent flow model, ready for the `diffuse`, `encode` and `decode` ops."""

    unet: UNet
    autoencoder: Autoencoder
    meta: dict[str, Any]
    sha256: str
    family: str = "diffusion"
    _denoiser: Callable[..., torch.Tensor] | None = field(default=None, repr=False)

    @property
    def vocabulary(self) -> list[str]:
        return list(self.meta.get("vocabulary", []))

    def encode_prompt(self, texts: Sequence[str]) -> torch.Tensor:
        """Conditions (B, D): the mean embedding of each prompt's known words (unknown ones were
        warned about by the checker, with the model's fillers, by `data.words.unknown_words`)."""
        vocab, aliases = self.vocabulary, self.meta.get("aliases", {})
        ids = [[vocab.index(w) for w in tokenize_with(t, vocab, aliases)[0]] for t in texts]
        with torch.no_grad():
            return self.unet.encode_prompt(ids).float()

    def denoiser(self) -> Callable[..., torch.Tensor]:
        if self._denoiser is None:
            self._denoiser = build_denoiser(Float32Out(self.unet), None, "flow")
        return self._denoiser

    def sigmas(self, steps: int) -> torch.Tensor:
        return flow_sigmas(steps, float(self.meta.get("shift", 1.0)))

    def to_latent(self, images: torch.Tensor) -> torch.Tensor:
        """Images (B, 3, H, W) in [0, 1] → scaled latents (B, 4, H/8, W/8)."""
        with torch.no_grad():
            x = (images.float() * 2 - 1).contiguous(memory_format=FORMAT)
            return self.autoencoder.encode(x).float().contiguous()

    def to_image(self, latents: torch.Tensor) -> torch.Tensor:
        """Scaled latents → images (B, 3, 8h, 8w) in [0, 1]."""
        with torch.no_grad():
            z = latents.float().contiguous(memory_format=FORMAT)
            return ((self.autoencoder.decode(z).float() + 1) / 2).clamp(0, 1).contiguous()

    def attention_scores(self, latent_shape: Sequence[int]) -> int:
        """Attention scores one evaluation holds per latent (for the pre-flight memory check)."""
        return self.unet.attention_scores(latent_shape)

    @property
    def latent_shape(self) -> tuple[int, ...]:
        """The latent shape at the model's native size (for memory estimates)."""
        side = int(self.meta.get("size", 256)) // self.autoencoder.cfg.factor
        return (self.autoencoder.cfg.latent_channels, side, side)

    def image_shape(self, latent_shape: Sequence[int] | None = None) -> tuple[int, ...]:
        shape = self.latent_shape if latent_shape is None else latent_shape
        f = self.autoencoder.cfg.factor
        return (3, shape[-2] * f, shape[-1] * f)


def load_latent_diffusion(
    path: str | os.PathLike[str], device: str | torch.device = "cpu", sha256: str = ""
) -> LatentDiffusion:
    """Load an "ldm" checkpoint onto a device, in eval mode."""
    info = read_info(path)
    if info.family != "diffusion" or info.arch != "ldm":
        raise CheckpointError(f"{path}: a {info.family}/{info.arch} checkpoint, not diffusion/ldm")
    try:
        unet = UNet(UNetConfig.from_dict(info.config["unet"]))
        ae = Autoencoder(AutoencoderConfig.from_dict(info.config["autoencoder"]))
        tensors = load_tensors(path)
        unet.load_state_dict(split_tensors(tensors, "unet"))
        ae.load_state_dict(split_tensors(tensors, "autoencoder"))
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{path}: weights do not match its config ({e})") from None
    unet, ae = (m.to(device).eval().requires_grad_(False) for m in (unet, ae))
    for m in (unet, ae):  # in place; torch's stubs omit Module.to's memory_format
        m.to(memory_format=FORMAT)  # type: ignore[call-overload]
    return LatentDiffusion(unet, ae, info.meta, sha256)  # type: ignore[arg-type]
