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

Edits stay among faces (`reach.<attribute>`, with the attribute's normal `normal.<attribute>`): an
edit moves a latent along its attribute's normal no further than typical faces lie, so a face that
has glasses keeps them under `glasses 1` instead of being pushed off the faces the model knows
(which changed skin and eyes). A yes/no attribute reaches from the typical face without it to the
typical face with it; a continuous one (smile, skin) spans 10% to 90% of the faces' positions (the
few faces beyond are where decoders are worst: pushing skin to the extremes faded the VAE's glasses).

Conditional edits (InterFaceGAN's conditional manipulation): each attribute's direction, and each
categorical group's subspace, is made orthogonal to every other attribute's direction and subspace,
so an edit moves nothing the others are read from (to first order). A direction keeps its reach
along its own normal: amount 1.0 still crosses the same gap.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

PREFIX = "direction."
TARGET = "target."
SUBSPACE = "subspace."
NORMAL = "normal."
REACH = "reach."
REACH_QUANTILES = (0.1, 0.9)  # a continuous attribute's reach: where 80% of faces lie


@dataclass(frozen=True)
class Category:
    """One categorical attribute's values: their names, class means and the span of those means."""

    names: tuple[str, ...]  # edit names, e.g. ("hair_black", "hair_brown", ...)
    targets: torch.Tensor  # (K, D) class means
    basis: torch.Tensor  # (D, r) orthonormal, r <= K - 1


@dataclass(frozen=True)
class Reach:
    """Where faces lie along an attribute: position s = z @ normal (the edit direction d has
    d @ normal = 1, so amount a moves s by a), between lo and hi."""

    normal: torch.Tensor  # (D,)
    lo: float
    hi: float


class LatentEdits(Mapping[str, torch.Tensor]):
    """A model's attribute edits: name -> direction (D,), plus categorical groups and reaches."""

    def __init__(
        self,
        directions: Mapping[str, torch.Tensor],
        categories: Mapping[str, Category] | None = None,
        reach: Mapping[str, Reach] | None = None,
    ) -> None:
        self.directions = dict(directions)
        self.categories = dict(categories or {})  # group ("hair") -> its values
        self.reach = dict(reach or {})  # name -> how far its edits go; none: purely additive

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
        reach = {k: Reach(r.normal.to(device), r.lo, r.hi) for k, r in self.reach.items()}
        return LatentEdits({k: v.to(device) for k, v in self.directions.items()}, cats, reach)

    def group_of(self, name: str) -> str:
        """The attribute an edit belongs to: 'hair_red' -> 'hair', 'smile' -> 'smile'."""
        for group, cat in self.categories.items():
            if name in cat.names:
                return group
        return name


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
    continuous: Collection[str] = (),
) -> LatentEdits:
    """Edits from labelled latents z (N, D): a direction and its reach per yes/no mask (`continuous`
    names: a level split at the middle), targets per category; then made conditional."""
    n = len(z)
    dirs = {k: direction(z, m) for k, m in masks.items() if 0 < int(m.sum()) < n}
    reach = {k: _reach(z, masks[k], d, k in continuous) for k, d in dirs.items()}
    cats = {
        head: categorical_targets(z, idx, [f"{head}_{v}" for v in values[head]])
        for head, idx in classes.items()
    }
    return conditional(LatentEdits(dirs, cats, reach))


def _reach(z: torch.Tensor, mask: torch.Tensor, d: torch.Tensor, continuous: bool) -> Reach:
    """Where the latents z (N, D) lie along direction d: the two groups' mean positions for a
    yes/no attribute, REACH_QUANTILES of all positions for a continuous one."""
    normal = d.double() / (d.double() @ d.double())  # (D,), d @ normal = 1
    s = z.double() @ normal  # (N,)
    if continuous:
        lo, hi = (torch.quantile(s, q).item() for q in REACH_QUANTILES)
    else:
        lo, hi = s[~mask].mean().item(), s[mask].mean().item()
    return Reach(normal.float(), lo, hi)


def conditional(edits: LatentEdits) -> LatentEdits:
    """The edits made orthogonal to every other attribute's directions and subspace (values of one
    categorical attribute are not made orthogonal to each other); reaches are kept."""
    groups = {name: edits.group_of(name) for name in edits.directions}
    spans = {a: _span(edits, groups, a) for a in {*groups.values(), *edits.categories}}

    def others(attr: str) -> torch.Tensor:  # (D, k) orthonormal span of every other attribute
        parts = [spans[b] for b in sorted(spans) if b != attr]
        return _orthonormal(torch.cat(parts, 1)) if parts else spans[attr][:, :0]

    dirs = {}
    for name, d32 in edits.directions.items():
        q, d = others(groups[name]), d32.double()
        p = d - q @ (q.T @ d)  # (D,) without any component another attribute is read from
        dirs[name] = (p * (d @ d) / (p @ d)).float()  # same reach along d as before
    cats = {}
    for group, cat in edits.categories.items():
        q, b = others(group), cat.basis.double()
        cats[group] = Category(cat.names, cat.targets, _orthonormal(b - q @ (q.T @ b)).float())
    return LatentEdits(dirs, cats, edits.reach)


def _span(edits: LatentEdits, groups: Mapping[str, str], attr: str) -> torch.Tensor:
    """(D, k) orthonormal basis of what an attribute is read from: its subspace if categorical,
    else its directions."""
    if attr in edits.categories:
        return edits.categories[attr].basis.double()
    cols = [d for n, d in edits.directions.items() if groups[n] == attr]
    return _orthonormal(torch.stack(cols, 1).double())


def _orthonormal(m: torch.Tensor, tol: float = 1e-6) -> torch.Tensor:
    """An orthonormal basis (D, r) of the columns of m (D, k), float64."""
    u, s, _ = torch.linalg.svd(m.double(), full_matrices=False)
    return u[:, s > tol * s.max()] if s.numel() else u


def edit_latent(
    z: torch.Tensor, edits: Mapping[str, float], directions: Mapping[str, torch.Tensor]
) -> torch.Tensor:
    """z (B, D) with each edit applied in turn: edit_latent(z, {"smile": 1.5}, model_edits).

    Binary and continuous attributes move amount times their direction (no further than their
    reach, when the model has one); categorical values (when `directions` is a LatentEdits) move
    toward a class mean inside their group's subspace.
    """
    out = z
    for name, amount in edits.items():
        if name not in directions:
            known = ", ".join(sorted(directions)) or "none"
            raise KeyError(f"unknown attribute {name!r}; this model knows: {known}")
        found = directions.category_of(name) if isinstance(directions, LatentEdits) else None
        reach = directions.reach.get(name) if isinstance(directions, LatentEdits) else None
        d = directions[name].to(device=z.device, dtype=z.dtype)
        if found is not None:
            out = _toward_value(out, *found, float(amount))
        elif reach is not None:
            s = out @ reach.normal.to(out)  # (B,) where each face lies along the attribute
            goal = torch.minimum(torch.maximum(s + float(amount), s.clamp(max=reach.lo)),
                                 s.clamp(min=reach.hi))  # fmt: skip
            out = out + (goal - s)[:, None] * d  # (B, D); never further than faces lie
        else:
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
    """Edits as checkpoint tensors: 'direction.smile', 'normal.smile', 'reach.smile' (lo, hi),
    'target.hair.red', 'subspace.hair'."""
    out = {PREFIX + name: _own(d) for name, d in edits.items()}
    for name, r in getattr(edits, "reach", {}).items():
        out[NORMAL + name] = _own(r.normal)
        out[REACH + name] = torch.tensor([r.lo, r.hi], dtype=torch.float32)
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
    normals = _pick(tensors, NORMAL)
    reach = {
        k: Reach(normals[k], *map(float, r.tolist())) for k, r in _pick(tensors, REACH).items()
    }
    return LatentEdits(_pick(tensors, PREFIX), cats, reach)


def _pick(tensors: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The tensors under a prefix, by the rest of their name."""
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def load_directions(path: str | Path) -> LatentEdits:
    """The attribute edits shipped in a GAN or VAE checkpoint (empty if it has none)."""
    from gencode.models.checkpoint import load_tensors

    return from_tensors(load_tensors(path))
