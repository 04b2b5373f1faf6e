"""The latent autoencoder: images (B, 3, H, W) in [-1, 1] ⇄ latents (B, 4, H/8, W/8).

Shaped like Stable Diffusion's VAE (8x down, 4 channels) but sized like TAESD: plain residual conv
blocks, no attention and no normalisation, so it is fully convolutional (trained on crops, used at
any multiple of 8) and fast on a CPU. The encoder is deterministic; the latent is divided by a
`latent_scale` measured after training (stored in the checkpoint) so diffusion sees unit variance.
The decoder is trained on slightly noised latents, so imperfect diffusion samples still decode
cleanly. Widths are per level, from full resolution down; the decoder is the mirror of its own list.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass(frozen=True)
class AutoencoderConfig:
    """Shape of the autoencoder; stored in every checkpoint so it can be rebuilt without code."""

    latent_channels: int = 4  # as Stable Diffusion: 4 channels at 1/8 of the side
    enc_widths: tuple[int, ...] = (24, 48, 64, 64)  # full res, 1/2, 1/4, 1/8
    dec_widths: tuple[int, ...] = (16, 32, 48, 64)  # full res … 1/8; thin at full res: CPU speed
    enc_blocks: int = 1  # residual blocks per encoder level
    dec_blocks: int = 2  # per decoder level (the decoder runs every frame; the encoder rarely)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["enc_widths"] = list(self.enc_widths)
        d["dec_widths"] = list(self.dec_widths)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AutoencoderConfig:
        """A config from a checkpoint or recipe dict; unknown keys are an error."""
        bad = sorted(set(d) - {f.name for f in fields(cls)})
        if bad:
            raise ValueError(f"unknown autoencoder config keys: {', '.join(bad)}")
        d = dict(d)
        for key in ("enc_widths", "dec_widths"):
            if key in d:
                d[key] = tuple(int(w) for w in d[key])
        return cls(**d)

    @property
    def factor(self) -> int:
        """Image sides are this many times the latent's (each level after the first halves)."""
        return 2 ** (len(self.enc_widths) - 1)


class ResBlock(nn.Module):
    """conv-act-conv with a skip: the TAESD block."""

    def __init__(self, ch: int):
        super().__init__()
        self.c1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.c2 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.c2(F.relu(self.c1(x))))


class Encoder(nn.Module):
    """(B, 3, H, W) → (B, C, H/8, W/8): a stride-2 conv between levels."""

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        w = cfg.enc_widths
        layers: list[nn.Module] = [nn.Conv2d(3, w[0], 3, padding=1), nn.ReLU()]
        for i, ch in enumerate(w):
            if i:
                layers.append(nn.Conv2d(w[i - 1], ch, 3, stride=2, padding=1))
            layers += [ResBlock(ch) for _ in range(cfg.enc_blocks)]
        layers.append(nn.Conv2d(w[-1], cfg.latent_channels, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Decoder(nn.Module):
    """(B, C, h, w) → (B, 3, 8h, 8w): nearest upsampling and a conv between levels."""

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        w = cfg.dec_widths[::-1]  # coarse → fine
        layers: list[nn.Module] = [nn.Conv2d(cfg.latent_channels, w[0], 3, padding=1), nn.ReLU()]
        for i, ch in enumerate(w):
            if i:
                layers += [nn.Upsample(scale_factor=2), nn.Conv2d(w[i - 1], ch, 3, padding=1)]
            layers += [ResBlock(ch) for _ in range(cfg.dec_blocks)]
        layers.append(nn.Conv2d(w[-1], 3, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class Autoencoder(nn.Module):
    """Encoder + decoder with the latent scale that makes latents unit-variance."""

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        self.register_buffer("latent_scale", torch.ones(()))  # measured after training

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] (B, 3, H, W) → scaled latents (B, C, H/8, W/8)."""
        return self.encoder(x) * self.latent_scale

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Scaled latents → images in about [-1, 1] (B, 3, 8h, 8w)."""
        return self.decoder(z / self.latent_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


def load_autoencoder(
    path: str | os.PathLike[str], device: str | torch.device = "cpu", prefix: str = ""
) -> Autoencoder:
    """An autoencoder from its own checkpoint, or from `prefix.*` tensors inside another one."""
    from gencode.models.checkpoint import CheckpointError, load_tensors, read_info

    info = read_info(path)
    cfg_dict = info.config.get("autoencoder", info.config) if prefix else info.config
    try:
        net = Autoencoder(AutoencoderConfig.from_dict(cfg_dict))
        tensors = load_tensors(path)
        if prefix:
            tensors = {k[len(prefix) + 1 :]: v for k, v in tensors.items() if k.startswith(prefix)}
        net.load_state_dict(tensors)
    except (RuntimeError, ValueError, TypeError) as e:
        raise CheckpointError(
            f"{path}: autoencoder weights do not match its config ({e})"
        ) from None
    return net.to(device).eval().requires_grad_(False)
