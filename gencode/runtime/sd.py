"""Stable Diffusion from a local diffusers folder, behind the runtime's diffusion interface.

Input: a folder checked by `gencode.models.sd_folder` and a device. Output: `StableDiffusion`,
which encodes prompts with its CLIP text encoder (with AUTOMATIC1111 weighting), exposes its UNet
as a k-diffusion denoiser through gencode's eps / v wrappers (so every gencode sampler and the
diffusers schedulers drive it), and converts latents ↔ images with its VAE. Loading is offline
(`local_files_only`, safetensors only) and in half precision on CUDA.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gencode import prompt_weights
from gencode.models.checkpoint import CheckpointError
from gencode.models.sd_folder import folder_ref, weight_variant
from gencode.samplers.denoisers import build_denoiser
from gencode.samplers.schedules import to_sigmas

VAE_BATCH = 8  # images per VAE call: a 512x512 decode holds ~1 GB of activations per image


def load_sd(path: Path, device: torch.device, sha: str) -> StableDiffusion:
    """Load a folder's UNet, VAE, text encoder and tokenizer, offline; fp16 on CUDA."""
    diffusers, transformers = _libraries()
    ref = folder_ref(path)  # the same checks the checker made, with the same clear errors
    if ref.sha256 != sha:  # values cached under the old hash must not pass for this model's
        raise CheckpointError(
            f"model '{path.name}' changed since the script was checked; check or render again"
        )
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    kw: dict[str, Any] = {"local_files_only": True, "use_safetensors": True}
    v = {c: {"variant": weight_variant(path, c)} for c in ("unet", "vae", "text_encoder")}
    try:
        unet = diffusers.UNet2DConditionModel.from_pretrained(
            path, subfolder="unet", **kw, **v["unet"]
        )
        vae = diffusers.AutoencoderKL.from_pretrained(path, subfolder="vae", **kw, **v["vae"])
        text_encoder = transformers.CLIPTextModel.from_pretrained(
            path / "text_encoder", **kw, **v["text_encoder"]
        )
        tokenizer = transformers.CLIPTokenizer.from_pretrained(
            path / "tokenizer", local_files_only=True
        )
    except (OSError, ValueError, RuntimeError, KeyError) as e:
        raise CheckpointError(
            f"{path.name}: can't load this Stable Diffusion folder ({e})"
        ) from None
    nets = [
        m.to(device=device, dtype=dtype).eval().requires_grad_(False)
        for m in (unet, vae, text_encoder)
    ]
    if device.type == "cuda":
        nets[0].to(memory_format=torch.channels_last)  # faster convolutions on tensor cores
    config = json.loads((path / "scheduler" / "scheduler_config.json").read_text("utf-8"))
    return StableDiffusion(*nets, tokenizer, config, sha, ref.meta)


def _libraries() -> tuple[Any, Any]:
    """diffusers and transformers, quiet, or a clear error naming the extra to install."""
    try:
        import diffusers
        import transformers
    except ImportError as e:
        raise CheckpointError(
            f"Stable Diffusion folders need the 'sd' extra ({e.name} is not installed): "
            "pip install '.[sd]'"
        ) from None
    for lib in (diffusers, transformers):  # their progress bars and notices would flood renders
        lib.utils.logging.set_verbosity_error()
        lib.utils.logging.disable_progress_bar()
    return diffusers, transformers


class _UNetNet(nn.Module):
    """The UNet as gencode's denoisers call a network: net(x, t, cond) → eps or v, float32."""

    def __init__(self, unet: nn.Module):
        super().__init__()
        self.unet = unet

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None = None):
        dtype = self.unet.dtype
        # Sigmas taken from the training schedule map back to whole timesteps up to float
        # error; snapping them gives the UNet exactly the timesteps diffusers would.
        t = torch.where((t - t.round()).abs() < 1e-3, t.round(), t)
        out = self.unet(x.to(dtype), t, encoder_hidden_states=cond.to(dtype)).sample  # type: ignore[union-attr]
        return out.float()  # (B, 4, h, w)


@dataclass
class StableDiffusion:
    """A loaded Stable Diffusion model with the runtime's diffusion interface."""

    unet: nn.Module
    vae: nn.Module
    text_encoder: nn.Module
    tokenizer: Any
    scheduler_config: dict[str, Any]  # the folder's scheduler/scheduler_config.json
    sha256: str
    meta: dict[str, Any]
    family: str = "diffusion"
    alphas_cumprod: torch.Tensor = field(init=False, repr=False)  # (T,) float64
    _denoiser: nn.Module | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        from diffusers import DDPMScheduler

        # The scheduler class computes betas the way diffusers does (scaled_linear, ...).
        self.alphas_cumprod = DDPMScheduler.from_config(
            self.scheduler_config
        ).alphas_cumprod.double()

    @property
    def device(self) -> torch.device:
        return next(self.unet.parameters()).device

    @property
    def latent_scale(self) -> int:
        return int(self.meta.get("latent_scale", 8))

    @property
    def latent_shape(self) -> tuple[int, ...]:
        """The latent shape at the model's native size (for memory estimates)."""
        side = int(self.meta.get("size", 512)) // self.latent_scale
        return (int(self.meta.get("latent_channels", 4)), side, side)

    def image_shape(self, latent_shape: Sequence[int] | None = None) -> tuple[int, ...]:
        shape = self.latent_shape if latent_shape is None else latent_shape
        return (3, shape[-2] * self.latent_scale, shape[-1] * self.latent_scale)

    # ---- prompts --------------------------------------------------------------------------------

    def encode_prompt(self, texts: Sequence[str]) -> torch.Tensor:
        """CLIP embeddings (B, 77, D) float32, each token scaled by its A1111 weight."""
        rows = [self._tokens(t) for t in texts]
        ids = torch.tensor([r[0] for r in rows], device=self.device)  # (B, 77)
        weights = torch.tensor([r[1] for r in rows], device=self.device)  # (B, 77)
        mask = None
        if getattr(self.text_encoder.config, "use_attention_mask", False):
            mask = torch.tensor([r[2] for r in rows], device=self.device)
        z = self.text_encoder(ids, attention_mask=mask)[0].float()  # (B, 77, D)
        return emphasize(z, weights)

    def _tokens(self, text: str) -> tuple[list[int], list[float], list[int]]:
        """Token ids, per-token weights and the attention mask of one prompt, padded to 77."""
        tok = self.tokenizer
        length = min(int(tok.model_max_length), self.text_encoder.config.max_position_embeddings)
        ids: list[int] = []
        weights: list[float] = []
        for part, weight in prompt_weights.parse(text):
            part_ids = tok(part, add_special_tokens=False).input_ids
            ids += part_ids
            weights += [weight] * len(part_ids)
        if len(ids) > length - 2:
            warnings.warn(
                f"prompt longer than {length - 2} tokens; the rest is ignored: {text[:60]!r}…",
                stacklevel=2,
            )
            ids, weights = ids[: length - 2], weights[: length - 2]
        pad = length - 2 - len(ids)
        return (
            [tok.bos_token_id, *ids, tok.eos_token_id] + [tok.pad_token_id] * pad,
            [1.0, *weights, 1.0] + [1.0] * pad,
            [1] * (len(ids) + 2) + [0] * pad,
        )

    # ---- sampling -------------------------------------------------------------------------------

    def denoiser(self) -> Callable[..., torch.Tensor]:
        """The UNet as a k-diffusion denoiser model(x, sigma, cond=) for its prediction type."""
        if self._denoiser is None:
            inner = build_denoiser(
                _UNetNet(self.unet), self.alphas_cumprod, self.meta.get("prediction", "eps")
            ).to(self.device)
            # diffusers' convention, which SD users expect: guidance <= 1 means no guidance at
            # all (Turbo models run at guidance 0 on the prompt alone).
            inner.guidance_off_at = 1.0
            inner.scheduler_config = self.scheduler_config  # for `sampler "diffusers:..."`
            self._denoiser = inner
        return self._denoiser

    def timesteps(self, steps: int) -> torch.Tensor:
        """The training timesteps `steps` steps visit, spaced as the folder's scheduler says."""
        from diffusers import DDIMScheduler

        scheduler = DDIMScheduler.from_config(self.scheduler_config)
        scheduler.set_timesteps(int(steps))
        return scheduler.timesteps.double()  # (steps,) descending

    def final_sigma(self, sampler: str) -> float:
        """Where a sampler's last step lands: σ = 0, except DDIM on a scheduler config with
        `set_alpha_to_one` false (SD 1.x's), which stops at ā_0 as diffusers' DDIM does."""
        if sampler == "ddim" and not self.scheduler_config.get("set_alpha_to_one", True):
            return float(to_sigmas(self.alphas_cumprod)[0])
        return 0.0

    def sigmas(self, steps: int) -> torch.Tensor:
        """Descending sigmas ending in 0: float32 (steps + 1,)."""
        log_sigmas = to_sigmas(self.alphas_cumprod).log()  # (T,)
        t = self.timesteps(steps).clamp(0, len(log_sigmas) - 1)
        low = t.floor().long().clamp(max=len(log_sigmas) - 2)
        w = t - low
        sigma = ((1 - w) * log_sigmas[low] + w * log_sigmas[low + 1]).exp()
        return torch.cat([sigma, sigma.new_zeros(1)]).float()

    # ---- the VAE --------------------------------------------------------------------------------

    def to_latent(self, images: torch.Tensor) -> torch.Tensor:
        """Images (B, 3, H, W) in [0, 1] → scaled VAE latents (B, 4, H/8, W/8) (posterior means)."""
        cfg = self.vae.config
        out = []
        for x in images.split(VAE_BATCH):
            x = x.to(self.device, self.vae.dtype) * 2 - 1
            z = self.vae.encode(x).latent_dist.mean.float()
            out.append((z - (getattr(cfg, "shift_factor", None) or 0.0)) * cfg.scaling_factor)
        return torch.cat(out)

    def to_image(self, latents: torch.Tensor) -> torch.Tensor:
        """Scaled VAE latents (B, 4, h, w) → images (B, 3, 8h, 8w) in [0, 1], float32."""
        cfg = self.vae.config
        out = []
        for z in latents.split(VAE_BATCH):
            z = z.float() / cfg.scaling_factor + (getattr(cfg, "shift_factor", None) or 0.0)
            x = self.vae.decode(z.to(self.device, self.vae.dtype)).sample.float()
            out.append(((x + 1) / 2).clamp(0, 1))
        return torch.cat(out)


def emphasize(z: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Token embeddings (B, L, D) scaled by weights (B, L), each row's mean restored (A1111)."""
    if bool((weights == 1).all()):
        return z  # unweighted prompts stay exactly what diffusers computes
    mean = z.mean(dim=(1, 2), keepdim=True)  # (B, 1, 1)
    z = z * weights.to(z)[..., None]
    new_mean = z.mean(dim=(1, 2), keepdim=True)
    # A mean near zero (an encoder whose last norm has no bias) would blow the ratio up.
    usable = (mean.abs() > 1e-4) & (new_mean.abs() > 1e-4)
    return torch.where(usable, z * (mean / new_mean.where(usable, torch.ones_like(new_mean))), z)
