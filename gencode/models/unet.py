"""The diffusion U-Net: noisy image, timestep and prompt condition → predicted noise (or v).

Read top to bottom: config, building blocks (time embedding, DoubleConv, Down, Up, attention), then
the UNet with its prompt encoder. A prompt is a bag of words: its condition is the mean of learned
word embeddings, and a learned null condition stands for "no prompt" (classifier-free guidance).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass(frozen=True)
class UNetConfig:
    """Shape of the network; stored in every checkpoint so it can be rebuilt without code."""

    image_channels: int = 3  # RGB in pixel space; a latent model would use its VAE's channels
    base_channels: int = 32  # width at full resolution; 32 keeps 32x32 sampling interactive on CPU
    channel_mults: tuple[int, ...] = (1, 2, 4)  # one entry per resolution level (32, 16, 8): ~1.04M
    emb_dim: int = 128  # time + prompt embedding width fed to every block
    vocab_size: int = 13  # words the prompt encoder knows (the dataset's vocabulary)
    attention: bool = True  # self-attention at the lowest resolution: global layout for ~30k params
    film: bool = True  # FiLM (scale and shift) from the embedding, stronger than a plain shift
    groups: int = 8  # GroupNorm groups; must divide every level's width
    prediction: str = "eps"  # what the network predicts: "eps" (noise) or "v"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (tuples become lists)."""
        d = asdict(self)
        d["channel_mults"] = list(self.channel_mults)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> UNetConfig:
        """A config from a checkpoint or recipe dict; unknown keys are an error."""
        names = {f.name for f in fields(cls)}
        bad = sorted(set(d) - names)
        if bad:
            raise ValueError(f"unknown UNet config keys: {', '.join(bad)}")
        d = dict(d)
        if "channel_mults" in d:
            d["channel_mults"] = tuple(int(m) for m in d["channel_mults"])
        return cls(**d)

    @property
    def size_multiple(self) -> int:
        """Image sides must be multiples of this (each level halves the resolution)."""
        return 2 ** (len(self.channel_mults) - 1)


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of (possibly fractional) timesteps, as in "Attention is all you need"."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device) / half)  # (D/2,)
    args = t.float()[:, None] * freqs[None]  # (B, D/2)
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)  # (B, D)


class DoubleConv(nn.Module):
    """Two 3x3 conv-norm-SiLU layers, modulated by the embedding in between, with a residual."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, groups: int, film: bool):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.norm1 = nn.GroupNorm(groups, c_out)
        self.emb = nn.Linear(emb_dim, 2 * c_out if film else c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.norm2 = nn.GroupNorm(groups, c_out)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()
        self.film = film

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.norm1(self.conv1(x))  # (B, C, H, W)
        e = self.emb(F.silu(emb))[:, :, None, None]  # (B, C or 2C, 1, 1)
        if self.film:
            scale, shift = e.chunk(2, dim=1)
            h = h * (1 + scale) + shift
        else:
            h = h + e
        h = F.silu(self.norm2(self.conv2(F.silu(h))))  # (B, C, H, W)
        return h + self.skip(x)


class Down(nn.Module):
    """Halve the resolution, then a DoubleConv."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, groups: int, film: bool):
        super().__init__()
        self.conv = DoubleConv(c_in, c_out, emb_dim, groups, film)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        return self.conv(F.avg_pool2d(x, 2), emb)  # (B, C_out, H/2, W/2)


class Up(nn.Module):
    """Double the resolution, concatenate the encoder's skip, then a DoubleConv."""

    def __init__(self, c_in: int, c_skip: int, c_out: int, emb_dim: int, groups: int, film: bool):
        super().__init__()
        self.conv = DoubleConv(c_in + c_skip, c_out, emb_dim, groups, film)

    def forward(self, x: torch.Tensor, skip: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="nearest")  # (B, C_in, H, W)
        return self.conv(torch.cat([x, skip], dim=1), emb)  # (B, C_out, H, W)


class SelfAttention(nn.Module):
    """Multi-head self-attention over the pixels of a small feature map, with a residual."""

    def __init__(self, channels: int, groups: int, heads: int = 4):
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels)
        self.attn = nn.MultiheadAttention(channels, heads, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        seq = self.norm(x).flatten(2).transpose(1, 2)  # (B, H*W, C)
        out, _ = self.attn(seq, seq, seq, need_weights=False)  # (B, H*W, C)
        return x + out.transpose(1, 2).reshape(b, c, h, w)


class UNet(nn.Module):
    """The denoising network: forward(x, t, cond) → prediction of the same shape as x."""

    def __init__(self, config: UNetConfig):
        super().__init__()
        self.config = cfg = config
        widths = [cfg.base_channels * m for m in cfg.channel_mults]
        e, g, film = cfg.emb_dim, cfg.groups, cfg.film
        self.time_mlp = nn.Sequential(nn.Linear(e, e), nn.SiLU(), nn.Linear(e, e))
        self.words = nn.EmbeddingBag(cfg.vocab_size, e, mode="mean")
        self.null_cond = nn.Parameter(torch.zeros(e))  # learned "no prompt" condition
        self.cond_mlp = nn.Sequential(nn.Linear(e, e), nn.SiLU(), nn.Linear(e, e))
        self.inc = DoubleConv(cfg.image_channels, widths[0], e, g, film)
        self.downs = nn.ModuleList(
            Down(a, b, e, g, film) for a, b in zip(widths[:-1], widths[1:], strict=True)
        )
        self.mid = DoubleConv(widths[-1], widths[-1], e, g, film)
        self.attn = SelfAttention(widths[-1], g) if cfg.attention else nn.Identity()
        self.ups = nn.ModuleList(
            Up(b, a, a, e, g, film)
            for a, b in reversed(list(zip(widths[:-1], widths[1:], strict=True)))
        )
        self.out = nn.Conv2d(widths[0], cfg.image_channels, 1)
        nn.init.zeros_(self.out.weight)  # start by predicting zero: a calm first few steps
        nn.init.zeros_(self.out.bias)

    def encode_prompt(self, word_ids: Sequence[Sequence[int]]) -> torch.Tensor:
        """Conditions (B, D) for prompts given as lists of word ids; an empty list → null condition."""
        device = self.null_cond.device
        flat = torch.tensor([i for ids in word_ids for i in ids], dtype=torch.long, device=device)
        lengths = [len(ids) for ids in word_ids]
        offsets = torch.tensor([0, *lengths[:-1]], device=device).cumsum(0)  # (B,)
        bags = self.words(flat, offsets)  # (B, D), zeros for empty bags
        empty = torch.tensor([n == 0 for n in lengths], device=device)[:, None]  # (B, 1)
        return torch.where(empty, self.null_cond.expand_as(bags), bags)

    def null_condition(self, batch: int) -> torch.Tensor:
        """The unconditional (empty prompt) condition, (B, D)."""
        return self.null_cond[None].expand(batch, -1)

    def forward(
        self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None = None
    ) -> torch.Tensor:
        if cond is None:
            cond = self.null_condition(x.shape[0])
        t_emb = timestep_embedding(t.expand(x.shape[0]), self.config.emb_dim)  # (B, D)
        emb = self.time_mlp(t_emb) + self.cond_mlp(cond)  # (B, D)
        skips = [self.inc(x, emb)]  # [(B, C0, H, W)]
        for down in self.downs:
            skips.append(down(skips[-1], emb))  # (B, Ci, H/2^i, W/2^i)
        h = self.attn(self.mid(skips.pop(), emb))  # (B, C_last, H/2^L, W/2^L)
        for up in self.ups:
            h = up(h, skips.pop(), emb)  # (B, C_{i-1}, ...)
        return self.out(h)  # (B, 3, H, W)

    def attention_scores(self, latent_shape: Sequence[int]) -> int:
        """Attention scores one evaluation holds per input (heads x tokens^2 at the lowest
        resolution): quadratic in the pixels, so it decides whether a big size fits in memory."""
        cfg = self.config
        if not cfg.attention or len(latent_shape) < 2:  # a shape the budget can't tell
            return 0
        tokens = (int(latent_shape[-2]) // cfg.size_multiple) * (
            int(latent_shape[-1]) // cfg.size_multiple
        )
        return int(self.attn.attn.num_heads) * tokens * tokens


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def build(config: dict[str, Any] | UNetConfig) -> UNet:
    """A UNet from a config (dict from a checkpoint/recipe, or a UNetConfig)."""
    cfg = config if isinstance(config, UNetConfig) else UNetConfig.from_dict(config)
    return UNet(cfg)
