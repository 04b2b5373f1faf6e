"""Edits refined through the generator: each direction is nudged until moving along it changes
what the judge reads of its own attribute and as little as possible of any other.

InterFaceGAN's conditional directions are orthogonal to the other attributes' *linear* boundaries,
which is enough only to first order: the generator is not linear, and a direction orthogonal to
the eye-size boundary can still change the eyes it draws (the 32 px GAN's glasses edit moved eye
size on 14% of faces). Here each yes/no or level direction d0 gets a correction delta, fitted by
gradient descent through the frozen generator and judge on fresh prior latents:

    loss = sum over other heads of mean (reading after - reading before)^2     (side effects)
         + KEEP * relu(effect of d0 - effect of d)^2                           (its own change kept)
         + SMALL * |delta|^2 / |d0|^2                                          (stay near the fit)

with d = d0 + delta, delta orthogonal to the attribute's reach normal, so an amount still means
what it meant (1.0 moves a face from the typical face without to the typical face with it) and the
reach still stops edits where faces lie. The edit stays one vector per attribute: checkpoints,
`edit_latent` and scripts are unchanged. Categorical values (hair colours) move inside their
subspace and are left as fitted. Readings: a yes/no head's probability, a level's position in its
range, a categorical head's probabilities; the same scale as faces_report's side effects. A
refined direction is kept only if it does better than the fitted one on latents it was not fitted
on (less side effect, at least 95% of the effect).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from gencode.models import classifier as C
from gencode.models.directions import LatentEdits, Reach, edit_latent

Render = Callable[[torch.Tensor], torch.Tensor]  # latents (B, D) -> images (B, 3, H, W) in [-1, 1]
KEEP = 10.0  # weight of the hinge that keeps an edit's own effect at least what it was
SMALL = 0.002  # weight of the pull back toward the fitted direction
LR = 0.01  # Adam step per coordinate, as a share of the fitted direction's length
AMOUNTS = (1.0, 1.5)  # the amounts scripts use most; the gate measures 1.0


def readings(judge: C.Classifier, images: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per judge head what it reads in images, differentiably (classifier.readings)."""
    return C.readings(judge.cfg.heads, judge(images))


def refine(
    render: Render,
    judge: C.Classifier,
    edits: LatentEdits,
    steps: int,
    batch: int = 64,
    seed: int = 0,
) -> tuple[LatentEdits, dict[str, dict[str, float]]]:
    """The edits with each yes/no or level direction refined (see the module docstring), and per
    attribute whether the refinement was kept and its side-effect loss and own effect before and
    after, on a held-out batch."""
    judge.eval().requires_grad_(False)
    dim = next(iter(edits.directions.values())).numel()
    g = torch.Generator().manual_seed(seed)
    held = torch.randn(4 * batch, dim, generator=g)  # (4B, D) for the before/after figures
    dirs, report = dict(edits.directions), {}
    for name in sorted(edits.directions):
        if edits.category_of(name) is None and name in edits.reach:
            edit = _Edit(render, judge, name, edits.reach[name])
            dirs[name], report[name] = edit.refine(edits.directions[name], steps, batch, g, held)
    return LatentEdits(dirs, edits.categories, edits.reach), report


class _Edit:
    """One attribute's edit as the refinement sees it: its losses for a direction."""

    def __init__(self, render: Render, judge: C.Classifier, name: str, reach: Reach) -> None:
        self.render, self.judge, self.name, self.reach = render, judge, name, reach
        self.own = C.head_of(name, judge.cfg.heads)

    def losses(self, z: torch.Tensor, d: torch.Tensor, amount: float) -> tuple[torch.Tensor, ...]:
        """(side, effect) of moving latents z (B, D) by +-amount along d (D,): the mean squared
        change of every other head's reading, and the mean signed change of its own."""
        one = LatentEdits({self.name: d}, {}, {self.name: self.reach})
        with torch.no_grad():
            before = readings(self.judge, self.render(z))
        side, effect = torch.zeros(()), torch.zeros(())
        for sign in (1.0, -1.0):
            moved = edit_latent(z, {self.name: sign * amount}, one)
            for h, v in readings(self.judge, self.render(moved)).items():
                if h == self.own:
                    effect = effect + sign * (v - before[h]).mean() / 2
                else:
                    side = side + (v - before[h]).pow(2).reshape(len(v), -1).sum(1).mean() / 2
        return side, effect

    def refine(
        self, d0: torch.Tensor, steps: int, batch: int, g: torch.Generator, held: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The refined direction (or d0, when it does no better on `held`) and its figures."""
        d0 = d0.detach()
        unit = self.reach.normal / self.reach.normal.norm()
        delta = torch.zeros_like(d0, requires_grad=True)
        opt = torch.optim.Adam([delta], lr=LR * d0.norm().item())

        def direction() -> torch.Tensor:
            return d0 + delta - unit * (delta @ unit)  # (D,), the amount keeps its meaning

        with torch.no_grad():
            side0, effect0 = self.losses(held, d0, AMOUNTS[0])
        for i in range(steps):
            z = torch.randn(batch, d0.numel(), generator=g)
            side, effect = self.losses(z, direction(), AMOUNTS[i % len(AMOUNTS)])
            keep = F.relu(effect0 - effect).pow(2)
            loss = side + KEEP * keep + SMALL * (delta @ delta) / (d0 @ d0)
            (delta.grad,) = torch.autograd.grad(loss, [delta])  # the networks' weights stay out
            opt.step()
        d = direction().detach()
        with torch.no_grad():
            side1, effect1 = self.losses(held, d, AMOUNTS[0])
        kept = bool(side1 < side0 and effect1 >= 0.95 * effect0)  # else the fit was as good
        return d if kept else d0, {
            "refined": kept,
            "side_before": round(side0.item(), 5),
            "side_after": round(side1.item(), 5),
            "effect_before": round(effect0.item(), 4),
            "effect_after": round(effect1.item(), 4),
        }
