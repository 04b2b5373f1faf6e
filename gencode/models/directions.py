"""Attribute directions in a latent space: fit them from labelled latents, ship them, apply edits.

A direction is a (latent_dim,) vector stored in a checkpoint as `direction.<attribute>`. It is
scaled so that an edit of amount 1.0 moves a latent by the gap between the typical latent without
the attribute and the typical latent with it; 0.5 is half way, -1 removes the attribute.
- VAE: the mean encoded latent of faces with the attribute minus that of faces without it.
- GAN (InterFaceGAN): a logistic-regression boundary between latents the judge labels yes / no;
  its unit normal, times the gap between the two groups' mean projections on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
import torch.nn.functional as F

PREFIX = "direction."


def mean_difference(z: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of z (N, D) where mask (N,) is true minus where it is false, (D,)."""
    _check_both_groups(mask)
    return z[mask].mean(0) - z[~mask].mean(0)  # (D,)


def linear_boundary(
    z: torch.Tensor, mask: torch.Tensor, steps: int = 200, l2: float = 1e-3
) -> torch.Tensor:
    """InterFaceGAN: a logistic boundary's unit normal, scaled by the groups' mean gap, (D,)."""
    _check_both_groups(mask)
    z = z.double()
    y = mask.double()
    w = torch.zeros(z.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=steps, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(z @ w + b, y) + l2 * w.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)  # full batch, zero start: deterministic, no random draws
    n = w.detach() / w.detach().norm()  # (D,)
    proj = z @ n  # (N,)
    gap = proj[mask].mean() - proj[~mask].mean()
    return (n * gap).float()  # (D,)


def _check_both_groups(mask: torch.Tensor) -> None:
    """A direction needs examples with and without the attribute."""
    n_yes = int(mask.sum())
    if n_yes == 0 or n_yes == len(mask):
        raise ValueError(f"need latents with and without the attribute ({n_yes} of {len(mask)})")


def edit_latent(
    z: torch.Tensor, edits: Mapping[str, float], directions: Mapping[str, torch.Tensor]
) -> torch.Tensor:
    """z (B, D) moved by amount times each named direction: edit_latent(z, {"smile": 1.5}, d)."""
    out = z
    for name, amount in edits.items():
        if name not in directions:
            known = ", ".join(sorted(directions)) or "none"
            raise KeyError(f"unknown attribute {name!r}; this model knows: {known}")
        d = directions[name].to(device=z.device, dtype=z.dtype)
        out = out + float(amount) * d  # (B, D); broadcasts over the batch
    return out


def to_tensors(directions: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Directions as checkpoint tensors ('direction.smile', ...)."""
    return {PREFIX + name: d.detach().float().cpu().contiguous() for name, d in directions.items()}


def from_tensors(tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The directions among a checkpoint's tensors, by attribute name."""
    return {k[len(PREFIX) :]: v for k, v in tensors.items() if k.startswith(PREFIX)}


def load_directions(path: str | Path) -> dict[str, torch.Tensor]:
    """The attribute directions shipped in a GAN or VAE checkpoint (empty if it has none)."""
    from gencode.models.checkpoint import load_tensors

    return from_tensors(load_tensors(path))
