"""GANs: a latent z (B, latent_dim) -> image (B, 3, H, W) in [-1, 1], plus their critics.

Two architectures, each a generator/discriminator pair with a dataclass config:
- "mlp-gan": the classic MLP generator (Linear blocks 128-256-512-1024, BatchNorm, LeakyReLU(0.2),
  Tanh), reshaped to an image; cheap per image, so it trains quickly on a CPU;
- "dcgan": a convolutional DCGAN-style generator (transposed convolutions doubling the resolution).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn


@dataclass(frozen=True)
class MLPGANConfig:
    """The classic fully connected GAN."""

    latent_dim: int = 64  # z size; small, since the faces have only ~20 factors of variation
    size: int = 32  # square images; the output layer has 3 * size**2 units, so keep it small
    channels: int = 3
    hidden: tuple[int, ...] = (128, 256, 512, 1024)  # generator widths (the classic design)
    disc_hidden: tuple[int, ...] = (512, 256)  # discriminator widths


@dataclass(frozen=True)
class DCGANConfig:
    """The convolutional DCGAN: resolution doubles per block from 4x4 up to `size`."""

    latent_dim: int = 64
    size: int = 32  # must be 4 * 2**k
    channels: int = 3
    width: int = 32  # channels of the last generator block; earlier blocks double it


class MLPGenerator(nn.Module):
    """z -> Linear blocks (BatchNorm, LeakyReLU) -> Tanh -> image."""

    def __init__(self, cfg: MLPGANConfig) -> None:
        super().__init__()
        self.cfg = cfg
        layers: list[nn.Module] = []
        widths = (cfg.latent_dim, *cfg.hidden)
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            layers.append(nn.Linear(a, b))
            if i > 0:  # no BatchNorm right after z: it would undo the prior's scale
                layers.append(nn.BatchNorm1d(b, momentum=0.1))
            layers.append(nn.LeakyReLU(0.2))
        layers += [nn.Linear(widths[-1], cfg.channels * cfg.size**2), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return (self.cfg.latent_dim,)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.net(z)  # (B, C*H*W)
        return x.view(-1, self.cfg.channels, self.cfg.size, self.cfg.size)  # (B, C, H, W)


class MLPDiscriminator(nn.Module):
    """image -> flattened -> Linear blocks (LeakyReLU) -> one logit per image."""

    def __init__(self, cfg: MLPGANConfig) -> None:
        super().__init__()
        widths = (cfg.channels * cfg.size**2, *cfg.disc_hidden)
        layers: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:], strict=True):
            layers += [nn.Linear(a, b), nn.LeakyReLU(0.2)]
        self.net = nn.Sequential(*layers, nn.Linear(widths[-1], 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1)).squeeze(1)  # (B,)


def _levels(size: int) -> int:
    """Number of resolution doublings from 4x4 to size x size."""
    k = int(round(math.log2(size / 4)))
    if size < 8 or 4 * 2**k != size:
        raise ValueError(f"DCGAN size must be 4 * 2**k and at least 8, got {size}")
    return k


class DCGenerator(nn.Module):
    """z -> 4x4 feature map -> (ConvTranspose, BatchNorm, ReLU) per doubling -> Tanh."""

    def __init__(self, cfg: DCGANConfig) -> None:
        super().__init__()
        self.cfg = cfg
        k = _levels(cfg.size)
        self.c0 = cfg.width * 2 ** (k - 1)
        self.project = nn.Sequential(
            nn.Linear(cfg.latent_dim, self.c0 * 16), nn.BatchNorm1d(self.c0 * 16), nn.ReLU()
        )
        blocks: list[nn.Module] = []
        c = self.c0
        for _ in range(k - 1):
            blocks += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1), nn.BatchNorm2d(c // 2), nn.ReLU()]
            c //= 2
        blocks += [nn.ConvTranspose2d(c, cfg.channels, 4, 2, 1), nn.Tanh()]
        self.blocks = nn.Sequential(*blocks)

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return (self.cfg.latent_dim,)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.project(z).view(-1, self.c0, 4, 4)  # (B, c0, 4, 4)
        return self.blocks(h)  # (B, C, H, W)


class DCDiscriminator(nn.Module):
    """image -> (strided Conv, LeakyReLU) per halving down to 4x4 -> one logit per image."""

    def __init__(self, cfg: DCGANConfig) -> None:
        super().__init__()
        k = _levels(cfg.size)
        layers: list[nn.Module] = [nn.Conv2d(cfg.channels, cfg.width, 4, 2, 1), nn.LeakyReLU(0.2)]
        c = cfg.width
        for _ in range(k - 1):
            layers += [nn.Conv2d(c, c * 2, 4, 2, 1), nn.BatchNorm2d(c * 2), nn.LeakyReLU(0.2)]
            c *= 2
        self.net = nn.Sequential(*layers, nn.Conv2d(c, 1, 4, 1, 0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()  # (B,)


# arch name -> (config, generator, discriminator); explicit so the list is complete and greppable.
ARCHS: dict[str, tuple[type, type[nn.Module], type[nn.Module]]] = {
    "mlp-gan": (MLPGANConfig, MLPGenerator, MLPDiscriminator),
    "dcgan": (DCGANConfig, DCGenerator, DCDiscriminator),
}


def make_config(arch: str, config: dict[str, Any]) -> MLPGANConfig | DCGANConfig:
    """A config dataclass from a plain dict (a recipe's or a checkpoint's); lists become tuples."""
    if arch not in ARCHS:
        raise ValueError(f"unknown GAN arch {arch!r}; known: {', '.join(ARCHS)}")
    fixed = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}
    return ARCHS[arch][0](**fixed)


def build(arch: str, config: dict[str, Any]) -> tuple[nn.Module, nn.Module]:
    """A fresh (generator, discriminator) pair."""
    cfg = make_config(arch, config)
    return ARCHS[arch][1](cfg), ARCHS[arch][2](cfg)


def config_dict(cfg: MLPGANConfig | DCGANConfig) -> dict[str, Any]:
    """A config as JSON-ready data, for checkpoints."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(cfg).items()}


def load_generator(path: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """The generator of a GAN checkpoint, in eval mode (tensors under 'generator.')."""
    from gencode.models.checkpoint import CheckpointError, load_tensors, read_info

    info = read_info(path)
    if info.family != "gan":
        raise CheckpointError(f"{path}: a {info.family} checkpoint, not a GAN")
    gen = ARCHS[info.arch][1](make_config(info.arch, info.config))
    tensors = load_tensors(path)
    prefix = "generator."
    gen.load_state_dict({k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)})
    return gen.to(device).eval()


@torch.inference_mode()
def generate(gen: nn.Module, z: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """Images (B, 3, H, W) in [-1, 1] from latents (B, latent_dim), in chunks of `batch`."""
    device = next(gen.parameters()).device
    return torch.cat([gen(c.to(device)).float().cpu() for c in z.split(batch)])
