"""Attribute directions in a latent space: fit them from labelled latents, ship them, apply edits.

A direction is a (latent_dim,) vector stored in a checkpoint as `direction.<attribute>`. It is
scaled so that an edit of amount 1.0 moves a latent by the gap between the typical latent without
the attribute and the typical latent with it; 0.5 is half way, -1 removes the attribute.
- VAE: the mean encoded latent of faces with the attribute minus that of faces without it.
- GAN (InterFaceGAN): a logistic-regression boundary between latents the judge labels yes / no;
  its unit normal, times the gap between the two groups' mean projections on it.

A categorical value (hair_brown) cannot be one fixed vector: brown hair lies between black and red,
so any single direction makes some faces less brown. Its group's class means (`target.hair.brown`)
span a subspace (`subspace.hair`); inside it, amount 1.0 moves a latent to the value's class mean
and -1.0 to the nearest other value's, leaving every other attribute where it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

PREFIX = "direction."
TARGET = "target."
SUBSPACE = "subspace."


@dataclass(frozen=True)
class Category:
    """One categorical attribute's values: their names, class means and the span of those means."""

    names: tuple[str, ...]  # edit names, e.g. ("hair_black", "hair_brown", ...)
    targets: torch.Tensor  # (K, D) class means
    basis: torch.Tensor  # (D, r) orthonormal, r <= K - 1


class LatentEdits(Mapping[str, torch.Tensor]):
    """A model's attribute edits: name -> additive direction (D,), plus categorical groups."""

    def __init__(
        self,
        directions: Mapping[str, torch.Tensor],
        categories: Mapping[str, Category] | None = None,
    ) -> None:
        self.directions = dict(directions)
        self.categories = dict(categories or {})  # group ("hair") -> its values

    def __getitem__(self, name: str) -> torch.Tensor:
        return self.directions[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.directions)

    def __len__(self) -> int:
        return len(self.directions)

    def category_of(self, name: str) -> tuple[Category, int] | None:
        """The group a categorical value belongs to and its index there, or None."""
        for cat in self.categories.values():
            if name in cat.names:
                return cat, cat.names.index(name)
        return None

    def to(self, device: str | torch.device) -> LatentEdits:
        """The same edits with every tensor on `device`."""
        cats = {
            g: Category(c.names, c.targets.to(device), c.basis.to(device))
            for g, c in self.categories.items()
        }
        return LatentEdits({k: v.to(device) for k, v in self.directions.items()}, cats)


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


def categorical_targets(z: torch.Tensor, classes: torch.Tensor, names: list[str]) -> Category:
    """The class means of z (N, D) per value present, and the basis of the span of those means."""
    present = [i for i in range(len(names)) if int((classes == i).sum()) > 0]
    means = torch.stack([z[classes == i].mean(0) for i in present])  # (K, D)
    u, s, _ = torch.linalg.svd((means - means.mean(0)).T.double(), full_matrices=False)
    basis = u[:, s > 0.02 * s.max()].float()  # (D, r), r <= K - 1; drops sampling noise
    return Category(tuple(names[i] for i in present), means.float(), basis)


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
    cats = {
        head: categorical_targets(z, idx, [f"{head}_{v}" for v in values[head]])
        for head, idx in classes.items()
    }
    return LatentEdits(dirs, cats)


def edit_latent(
    z: torch.Tensor, edits: Mapping[str, float], directions: Mapping[str, torch.Tensor]
) -> torch.Tensor:
    """z (B, D) with each edit applied in turn: edit_latent(z, {"smile": 1.5}, model_edits).

    Binary and continuous attributes add amount times their direction; categorical values (when
    `directions` is a LatentEdits) move toward a class mean inside their group's subspace.
    """
    out = z
    for name, amount in edits.items():
        if name not in directions:
            known = ", ".join(sorted(directions)) or "none"
            raise KeyError(f"unknown attribute {name!r}; this model knows: {known}")
        found = directions.category_of(name) if isinstance(directions, LatentEdits) else None
        if found is not None:
            out = _toward_value(out, *found, float(amount))
        else:
            d = directions[name].to(device=z.device, dtype=z.dtype)
            out = out + float(amount) * d  # (B, D); broadcasts over the batch
    return out


def _toward_value(z: torch.Tensor, cat: Category, k: int, amount: float) -> torch.Tensor:
    """z (B, D) moved |amount| of the way (in the subspace) to value k's mean, or the nearest other."""
    u = cat.basis.to(z)  # (D, r)
    targets = cat.targets.to(z)  # (K, D)
    if amount >= 0:
        goal = targets[k].expand_as(z)  # (B, D)
    else:
        dist = torch.cdist(z @ u, targets @ u)  # (B, K), distances inside the subspace
        dist[:, k] = float("inf")
        goal = targets[dist.argmin(1)]  # (B, D)
    return z + abs(amount) * ((goal - z) @ u) @ u.T  # (B, D)


def to_tensors(edits: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Edits as checkpoint tensors: 'direction.smile', 'target.hair.red', 'subspace.hair'."""
    out = {PREFIX + name: _own(d) for name, d in edits.items()}
    for group, cat in getattr(edits, "categories", {}).items():
        out[SUBSPACE + group] = _own(cat.basis)
        for name, t in zip(cat.names, cat.targets, strict=True):
            out[f"{TARGET}{group}.{name.removeprefix(group + '_')}"] = _own(t)
    return out


def _own(t: torch.Tensor) -> torch.Tensor:
    """A CPU float copy with its own storage (safetensors refuses shared storage)."""
    return t.detach().float().cpu().clone()


def from_tensors(tensors: Mapping[str, torch.Tensor]) -> LatentEdits:
    """The attribute edits among a checkpoint's tensors."""
    cats = {}
    for group, basis in _pick(tensors, SUBSPACE).items():
        values = sorted(_pick(tensors, f"{TARGET}{group}.").items())
        names = tuple(f"{group}_{value}" for value, _ in values)
        cats[group] = Category(names, torch.stack([t for _, t in values]), basis)
    return LatentEdits(_pick(tensors, PREFIX), cats)


def _pick(tensors: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The tensors under a prefix, by the rest of their name."""
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def load_directions(path: str | Path) -> LatentEdits:
    """The attribute edits shipped in a GAN or VAE checkpoint (empty if it has none)."""
    from gencode.models.checkpoint import load_tensors

    return from_tensors(load_tensors(path))
