"""A convolutional VAE: image (B, 3, H, W) in [-1, 1] <-> latent (B, latent_dim).

Training sees raw codes: posterior -> (mu, logvar); reparameterize code = mu + sigma * eps (eps from
an explicit generator); generate code -> image. The ELBO uses a Gaussian likelihood with a fixed
pixel noise (`sigma_x`), which sets the balance between sharp reconstructions and a filled prior.
Users see the public latent space (encode / decode), where z ~ N(0, I) decodes to a plausible image.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn


@dataclass(frozen=True)
class VAEConfig:
    """Encoder halves the resolution per level down to 4x4; the decoder mirrors it."""

    latent_dim: int = 32  # the faces vary in ~20 factors; a little room beyond that
    size: int = 32  # must be 4 * 2**k
    channels: int = 3
    width: int = 32  # channels at full resolution; doubles per level
    sigma_x: float = 0.1  # assumed pixel noise (images in [-1, 1]); smaller = sharper, less regular


def _levels(size: int) -> int:
    """Number of halvings from size x size to 4x4."""
    k = int(round(math.log2(size / 4)))
    if size < 8 or 4 * 2**k != size:
        raise ValueError(f"VAE size must be 4 * 2**k and at least 8, got {size}")
    return k


class VAE(nn.Module):
    """Conv encoder -> (mu, logvar); reparameterization; conv decoder."""

    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        self.cfg = cfg
        k = _levels(cfg.size)
        widths = [cfg.width * 2**i for i in range(k)]
        self.c_top = widths[-1]
        enc: list[nn.Module] = [nn.Conv2d(cfg.channels, widths[0], 3, 1, 1), nn.SiLU()]
        for a, b in zip([widths[0], *widths[:-1]], widths, strict=True):
            enc += [nn.Conv2d(a, b, 4, 2, 1), nn.GroupNorm(8, b), nn.SiLU()]
        self.encoder = nn.Sequential(*enc)
        self.to_stats = nn.Linear(self.c_top * 16, 2 * cfg.latent_dim)
        self.from_z = nn.Linear(cfg.latent_dim, self.c_top * 16)
        dec: list[nn.Module] = []
        for a, b in zip(widths[::-1], [*widths[::-1][1:], widths[0]], strict=True):
            dec += [nn.GroupNorm(8, a), nn.SiLU(), nn.ConvTranspose2d(a, b, 4, 2, 1)]
        dec += [nn.GroupNorm(8, widths[0]), nn.SiLU(), nn.Conv2d(widths[0], cfg.channels, 3, 1, 1)]
        self.decoder = nn.Sequential(*dec)
        # The public latent space: code = latent_mean + latent_scale @ z, with z ~ N(0, I). Identity
        # while training; afterwards fitted to the codes of the training images (fit_prior), since
        # the posterior means of a sharp VAE fill an offset, correlated ellipsoid, not N(0, I).
        self.register_buffer("latent_mean", torch.zeros(cfg.latent_dim))
        self.register_buffer("latent_scale", torch.eye(cfg.latent_dim))

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return (self.cfg.latent_dim,)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoder's raw (mu, logvar), each (B, latent_dim), as the ELBO sees them."""
        h = self.encoder(x).flatten(1)  # (B, c_top * 16)
        mu, logvar = self.to_stats(h).chunk(2, dim=1)  # (B, D), (B, D)
        return mu, logvar.clamp(-12.0, 6.0)  # keeps exp() finite early in training

    def generate(self, code: torch.Tensor) -> torch.Tensor:
        """Images (B, C, H, W) in [-1, 1] from raw codes (B, latent_dim)."""
        h = self.from_z(code).view(-1, self.c_top, 4, 4)  # (B, c_top, 4, 4)
        return torch.tanh(self.decoder(h))  # (B, C, H, W)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar) of the posterior in the public latent space, each (B, latent_dim)."""
        mu, logvar = self.posterior(x)
        inv = torch.linalg.inv(self.latent_scale)  # (D, D); triangular and small
        z = (mu - self.latent_mean) @ inv.T  # (B, D)
        var = logvar.exp() @ (inv**2).T  # (B, D): the diagonal of inv diag(var) inv^T
        return z, var.log()

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images (B, C, H, W) in [-1, 1] from public latents z (B, latent_dim), z ~ N(0, I)."""
        return self.generate(self.latent_mean + z @ self.latent_scale.T)

    @torch.no_grad()
    def fit_prior(self, codes: torch.Tensor) -> None:
        """Fit the public latent space to raw codes (N, D): a full-covariance Gaussian.

        Ex-post density estimation (Ghosh et al. 2020, "From variational to deterministic
        autoencoders"): N(0, I) samples then land where the decoder has seen codes.
        """
        mean = codes.mean(0)  # (D,)
        cov = torch.cov(codes.T.double()) + 1e-6 * torch.eye(codes.shape[1], dtype=torch.float64)
        self.latent_mean.copy_(mean)
        self.latent_scale.copy_(torch.linalg.cholesky(cov).float())  # (D, D) lower triangular

    def forward(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(reconstruction, mu, logvar) with raw codes drawn by the reparameterization trick."""
        mu, logvar = self.posterior(x)
        code = reparameterize(mu, logvar, generator)
        return self.generate(code), mu, logvar


def reparameterize(
    mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None
) -> torch.Tensor:
    """z = mu + sigma * eps, eps drawn on the CPU from `generator` (same draw on every device)."""
    if generator is None:
        return mu  # deterministic: the posterior mean
    eps = torch.randn(mu.shape, generator=generator).to(mu.device)
    return mu + torch.exp(0.5 * logvar) * eps


def elbo_loss(
    x: torch.Tensor,
    recon: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    sigma_x: float,
    beta: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss, recon term, KL term), per image: -ELBO = ||x - x'||^2 / (2 sigma^2) + beta * KL."""
    rec = (x - recon).pow(2).flatten(1).sum(1).mean() / (2 * sigma_x**2)
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1).mean()
    return rec + beta * kl, rec, kl


def make_config(config: dict[str, Any]) -> VAEConfig:
    """A config from a plain dict (a recipe's or a checkpoint's)."""
    return VAEConfig(**config)


def config_dict(cfg: VAEConfig) -> dict[str, Any]:
    """A config as JSON-ready data, for checkpoints."""
    return asdict(cfg)


def load_vae(path: str | Path, device: str | torch.device = "cpu") -> VAE:
    """The VAE of a checkpoint, in eval mode (tensors under 'vae.')."""
    from gencode.models.checkpoint import CheckpointError, load_tensors, read_info

    info = read_info(path)
    if info.family != "vae":
        raise CheckpointError(f"{path}: a {info.family} checkpoint, not a VAE")
    vae = VAE(make_config(info.config))
    prefix = "vae."
    tensors = load_tensors(path)
    vae.load_state_dict({k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)})
    return vae.to(device).eval()


@torch.inference_mode()
def posterior_means(vae: VAE, x: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """Raw codes (B, latent_dim) of images (B, C, H, W) in [-1, 1], in chunks, on the CPU."""
    device = next(vae.parameters()).device
    return torch.cat([vae.posterior(c.to(device))[0].float().cpu() for c in x.split(batch)])


@torch.inference_mode()
def encode_images(vae: VAE, x: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """Posterior means (B, latent_dim) of images (B, C, H, W) in [-1, 1], in chunks, on the CPU."""
    device = next(vae.parameters()).device
    return torch.cat([vae.encode(c.to(device))[0].float().cpu() for c in x.split(batch)])


@torch.inference_mode()
def decode_latents(vae: VAE, z: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """Images (B, C, H, W) in [-1, 1] from latents (B, latent_dim), in chunks, on the CPU."""
    device = next(vae.parameters()).device
    return torch.cat([vae.decode(c.to(device)).float().cpu() for c in z.split(batch)])
