"""Attribute directions in a latent space: fit them from labelled latents, ship them, apply edits.

A direction is a (latent_dim,) vector stored in a checkpoint as `direction.<attribute>`. It is
scaled so that an edit of amount 1.0 moves a latent by the gap between the typical latent without
the attribute and the typical latent with it; 0.5 is half way, -1 removes the attribute.
- VAE: the mean encoded latent of faces with the attribute minus that of faces without it.
- GAN (InterFaceGAN): a logistic-regression boundary between latents the judge labels yes / no;
  its unit normal, times the gap between the two groups' mean projections on it.

A categorical value (hair_brown) cannot be one fixed vector: brown hair lies between black and red,
so any single direction makes some faces less brown. Its edit moves a latent toward the value's
class mean inside the subspace its group's class means span (`target.<value>`, `subspace.<value>`):
amount 1.0 gives the typical hair of that value and leaves the other attributes where they were.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import torch
import torch.nn.functional as F

PREFIX = "direction."
TARGET = "target."
SUBSPACE = "subspace."


class LatentEdits(Mapping[str, torch.Tensor]):
    """A model's attribute edits: name -> additive direction (D,), plus categorical targets."""

    def __init__(
        self,
        directions: Mapping[str, torch.Tensor],
        targets: Mapping[str, torch.Tensor] | None = None,
        subspaces: Mapping[str, torch.Tensor] | None = None,
    ) -> None:
        self.directions = dict(directions)
        self.targets = dict(targets or {})  # value name -> (D,) class mean
        self.subspaces = dict(subspaces or {})  # value name -> (D, r) orthonormal basis

    def __getitem__(self, name: str) -> torch.Tensor:
        return self.directions[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.directions)

    def __len__(self) -> int:
        return len(self.directions)

    def to(self, device: str | torch.device) -> LatentEdits:
        """The same edits with every tensor on `device`."""
        tables = (self.directions, self.targets, self.subspaces)
        return LatentEdits(*({k: v.to(device) for k, v in t.items()} for t in tables))


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


def categorical_targets(
    z: torch.Tensor, classes: torch.Tensor, names: list[str]
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Per value: its class mean of z (N, D), and the basis of the span of all class means."""
    present = [i for i in range(len(names)) if int((classes == i).sum()) > 0]
    means = torch.stack([z[classes == i].mean(0) for i in present])  # (K, D)
    u, s, _ = torch.linalg.svd((means - means.mean(0)).T.double(), full_matrices=False)
    basis = u[:, s > 0.02 * s.max()].float()  # (D, r), r <= K - 1; drops sampling noise
    targets = {names[i]: m for i, m in zip(present, means, strict=True)}
    return targets, {name: basis for name in targets}


def fit_edits(
    z: torch.Tensor,
    masks: Mapping[str, torch.Tensor],
    classes: Mapping[str, torch.Tensor],
    values: Mapping[str, list[str]],
    direction: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> LatentEdits:
    """Edits from labelled latents z (N, D): a direction per yes/no mask, targets per category."""
    n = len(z)
    dirs = {k: direction(z, m) for k, m in masks.items() if 0 < int(m.sum()) < n}
    targets: dict[str, torch.Tensor] = {}
    subspaces: dict[str, torch.Tensor] = {}
    for head, idx in classes.items():
        t, b = categorical_targets(z, idx, [f"{head}_{v}" for v in values[head]])
        targets.update(t)
        subspaces.update(b)
    return LatentEdits(dirs, targets, subspaces)


def edit_latent(
    z: torch.Tensor, edits: Mapping[str, float], directions: Mapping[str, torch.Tensor]
) -> torch.Tensor:
    """z (B, D) with each edit applied in turn: edit_latent(z, {"smile": 1.5}, model_edits).

    Binary and continuous attributes add amount times their direction; categorical values (when
    `directions` is a LatentEdits) move amount of the way to the value's target in its subspace.
    """
    out = z
    for name, amount in edits.items():
        if name not in directions:
            known = ", ".join(sorted(directions)) or "none"
            raise KeyError(f"unknown attribute {name!r}; this model knows: {known}")
        if isinstance(directions, LatentEdits) and name in directions.targets:
            u = directions.subspaces[name].to(device=z.device, dtype=z.dtype)  # (D, r)
            t = directions.targets[name].to(device=z.device, dtype=z.dtype)  # (D,)
            out = out + float(amount) * ((t - out) @ u) @ u.T  # (B, D)
        else:
            d = directions[name].to(device=z.device, dtype=z.dtype)
            out = out + float(amount) * d  # (B, D); broadcasts over the batch
    return out


def to_tensors(
    directions: Mapping[str, torch.Tensor],
    targets: Mapping[str, torch.Tensor] | None = None,
    subspaces: Mapping[str, torch.Tensor] | None = None,
) -> dict[str, torch.Tensor]:
    """Edits as checkpoint tensors ('direction.smile', 'target.hair_red', 'subspace.hair_red')."""
    out = {}
    for prefix, table in ((PREFIX, directions), (TARGET, targets), (SUBSPACE, subspaces)):
        for name, t in (table or {}).items():
            out[prefix + name] = t.detach().float().cpu().clone()  # shared bases: own copies
    return out


def from_tensors(tensors: Mapping[str, torch.Tensor]) -> LatentEdits:
    """The attribute edits among a checkpoint's tensors."""
    return LatentEdits(_pick(tensors, PREFIX), _pick(tensors, TARGET), _pick(tensors, SUBSPACE))


def _pick(tensors: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The tensors under a prefix, by the rest of their name."""
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def load_directions(path: str | Path) -> LatentEdits:
    """The attribute edits shipped in a GAN or VAE checkpoint (empty if it has none)."""
    from gencode.models.checkpoint import load_tensors

    return from_tensors(load_tensors(path))
