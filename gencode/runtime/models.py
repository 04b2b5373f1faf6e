"""Loaded models: a checkpoint (named by sha256 in the graph) → one runtime object per family.

Input: a node's `model` param `{"name", "sha256"}`. Output: a runtime model on the render's device,
loaded once per sha256. Each family has one interface, so ops never look at architectures:

- diffusion: `encode_prompt(texts)`, `denoiser()` (k-diffusion `model(x, sigma, cond=)`),
  `sigmas(steps)`, `to_latent(images)` / `to_image(latents)` and `image_shape(latent_shape)`.
  A pixel-space UNet converts by rescaling; a latent model (Stable Diffusion through diffusers,
  `gencode.runtime.sd`) encodes prompts with its text encoder and converts through its VAE.
- gan: `generate(z)`; vae: `encode(images)`, `decode(z)` (and `generate` = `decode`);
  both: `latent_shape`, `image_shape()` and `directions` (attribute name → latent direction).

Images are float (B, 3, H, W) in [0, 1] everywhere outside these objects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from gencode.models.catalog import ModelCatalog, ModelRef
from gencode.models.checkpoint import CheckpointError, file_sha256, read_info
from gencode.models.directions import LatentEdits
from gencode.models.families import LOADERS
from gencode.ops.table import resolve
from gencode.samplers.denoisers import Float32Out, build_denoiser


class DiffusionRuntime(Protocol):
    """What `diffuse` needs from a diffusion model, whatever its architecture."""

    family: str
    sha256: str

    def encode_prompt(self, texts: Sequence[str]) -> torch.Tensor: ...  # (B, *cond_shape)
    def denoiser(self) -> Callable[..., torch.Tensor]: ...  # model(x, sigma, cond=) → denoised
    def sigmas(self, steps: int) -> torch.Tensor: ...  # (steps + 1,) descending to 0
    def to_latent(self, images: torch.Tensor) -> torch.Tensor: ...  # [0, 1] → model space
    def to_image(self, latents: torch.Tensor) -> torch.Tensor: ...  # model space → [0, 1]
    def image_shape(self, latent_shape: Sequence[int]) -> tuple[int, ...]: ...


@dataclass
class PixelDiffusion:
    """A gencode UNet in pixel space: a latent is the image in [-1, 1]."""

    model: Any  # gencode.models.diffusion.DiffusionModel
    sha256: str
    family: str = "diffusion"
    _denoiser: Callable[..., torch.Tensor] | None = field(default=None, repr=False)

    def encode_prompt(self, texts: Sequence[str]) -> torch.Tensor:
        return self.model.encode(list(texts))[0].float()  # (B, D)

    def denoiser(self) -> Callable[..., torch.Tensor]:
        if self._denoiser is None:
            net = self.model.net
            device = next(net.parameters()).device
            prediction = self.model.meta.get("prediction", net.config.prediction)
            inner = build_denoiser(Float32Out(net), self.model.alphas_cumprod, prediction)
            self._denoiser = inner.to(device)
        return self._denoiser

    def sigmas(self, steps: int) -> torch.Tensor:
        return self.model.sigmas(steps)

    def to_latent(self, images: torch.Tensor) -> torch.Tensor:
        return images.float() * 2 - 1

    def to_image(self, latents: torch.Tensor) -> torch.Tensor:
        return ((latents.float() + 1) / 2).clamp(0, 1)

    def image_shape(self, latent_shape: Sequence[int]) -> tuple[int, ...]:
        return (3, *latent_shape[-2:])

    def attention_scores(self, latent_shape: Sequence[int]) -> int:
        """Attention scores one evaluation holds per latent (heads x tokens^2 at the UNet's
        lowest resolution): quadratic in the pixels, so it decides whether a big size fits."""
        return self.model.net.attention_scores(latent_shape)


@dataclass
class LatentModel:
    """A GAN generator or a VAE, with the attribute directions its checkpoint ships."""

    family: str  # "gan" | "vae"
    net: nn.Module
    sha256: str
    directions: LatentEdits  # attribute name -> direction, plus categorical groups

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return tuple(self.net.latent_shape)

    def image_shape(self, latent_shape: Sequence[int] | None = None) -> tuple[int, ...]:
        cfg = self.net.cfg  # one image size, whatever the latent
        return (cfg.channels, cfg.size, cfg.size)

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """Images (B, 3, H, W) in [0, 1] for latents (B, D)."""
        out = self.net.decode(z) if self.family == "vae" else self.net(z)
        return ((out.float() + 1) / 2).clamp(0, 1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.generate(z)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Posterior means (B, D) of images (B, 3, H, W) in [0, 1] (VAE only)."""
        if self.family != "vae":
            raise CheckpointError("encode needs a VAE model")
        return self.net.encode(images.float() * 2 - 1)[0].float()


def load_unet(path: Path, device: torch.device, sha: str) -> PixelDiffusion:
    from gencode.models.diffusion import load_diffusion

    return PixelDiffusion(load_diffusion(path, device), sha)


def load_ldm(path: Path, device: torch.device, sha: str) -> Any:
    from gencode.models.latent_diffusion import load_latent_diffusion

    return load_latent_diffusion(path, device, sha)


def load_gan(path: Path, device: torch.device, sha: str) -> LatentModel:
    from gencode.models.directions import load_directions
    from gencode.models.gan import load_generator

    net = load_generator(path, device).requires_grad_(False)
    dirs = load_directions(path).to(device)
    return LatentModel("gan", net, sha, dirs)


def load_vae(path: Path, device: torch.device, sha: str) -> LatentModel:
    from gencode.models.directions import load_directions
    from gencode.models.vae import load_vae

    net = load_vae(path, device).requires_grad_(False)
    dirs = load_directions(path).to(device)
    return LatentModel("vae", net, sha, dirs)


def load_sd(path: Path, device: torch.device, sha: str) -> Any:
    from gencode.runtime.sd import load_sd  # imports diffusers: only when a folder is used

    return load_sd(path, device, sha)


class ModelStore:
    """Loads each model once per sha256 and keeps it on the device for later renders."""

    def __init__(self, device: torch.device, catalog: ModelCatalog | None = None):
        self.device = device
        self.catalog = catalog or ModelCatalog()
        self.paths: dict[str, Path] = {}  # sha256 → where that checkpoint was found
        self.loaded: dict[str, Any] = {}

    def add(self, ref: ModelRef) -> None:
        """Remember where the checker found a model (graphs name models only by name and hash)."""
        if ref.path:
            self.paths[ref.sha256] = Path(ref.path)

    def get(self, param: dict[str, str], root_dir: Path = Path(".")) -> Any:
        """The runtime model of a node's `model` param."""
        sha = param["sha256"]
        if sha not in self.loaded:
            path = self.find(param, root_dir)
            arch = "diffusers" if path.is_dir() else read_info(path).arch
            if arch not in LOADERS:
                raise CheckpointError(
                    f"{path}: no runtime for '{arch}' models (known: {', '.join(LOADERS)})"
                )
            load = resolve(LOADERS[arch])  # the family table names each arch's loader
            with torch.inference_mode(False):
                try:
                    self.loaded[sha] = load(path, self.device, sha)
                except CheckpointError:
                    raise
                except (RuntimeError, KeyError, ValueError, TypeError) as e:
                    # A file whose tensors don't fit its config (truncated, edited, or written
                    # by another version): say which file, not a torch traceback.
                    first = str(e).strip().splitlines()[0][:300]
                    raise CheckpointError(f"{path}: can't load this checkpoint ({first})") from None
        return self.loaded[sha]

    def find(self, param: dict[str, str], root_dir: Path) -> Path:
        """The checkpoint file with this sha256: as recorded, a built-in, or `<name>.safetensors`."""
        name, sha = param["name"], param["sha256"]
        candidates = [self.paths.get(sha), Path(root_dir) / f"{name}.safetensors"]
        if name in self.catalog.builtins:
            candidates.append(self.catalog.weights_dir / self.catalog.builtins[name])
        for path in candidates:
            if path is None or not path.exists():
                continue
            # A folder (a diffusers model) is identified by the catalog's own hash of it.
            if (path.is_dir() and path == self.paths.get(sha)) or file_sha256(path) == sha:
                return path
        raise CheckpointError(
            f"model '{name}' (sha256 {sha[:12]}…) is not on this machine, or its file changed "
            "since the script was checked; check or render again"
        )


class RecordingCatalog(ModelCatalog):
    """A catalog that remembers every model it resolves, so the runtime can find their files."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.resolved: list[ModelRef] = []

    def resolve(self, ref: str, base_dir: Path | None = None, builtin: bool = True) -> ModelRef:
        out = super().resolve(ref, base_dir, builtin)
        self.resolved.append(out)
        return out
