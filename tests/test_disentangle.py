"""Edits refined through the generator (gencode.train.disentangle): a direction a linear boundary
leaves entangled is corrected, its own effect and its reach are kept."""

from __future__ import annotations

from types import SimpleNamespace

import torch
from torch import nn

from gencode.models.directions import LatentEdits, edit_latent, fit_edits, linear_boundary
from gencode.train.disentangle import readings, refine


class Painter(nn.Module):
    """A generator whose eye size (pixel 1) also grows with glasses (z0), as the 32 px GAN's did."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        eye = 0.5 + 0.15 * (z[:, 1] + 0.8 * torch.tanh(2 * z[:, 0]))
        return torch.stack([z[:, 0], eye, z[:, 2]], 1)[:, :, None, None]  # (B, 3, 1, 1)


class Judge(nn.Module):
    """Reads glasses (a yes/no logit) and eye size (a level in [0, 1]) off the painter's pixels."""

    cfg = SimpleNamespace(
        heads={"glasses": {"kind": "binary"}, "eye_size": {"kind": "continuous", "range": [0, 1]}}
    )

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"glasses": 3 * x[:, 0, 0, 0], "eye_size": x[:, 1, 0, 0]}


def fitted(painter: Painter, judge: Judge, n: int = 4000) -> LatentEdits:
    """The conditional InterFaceGAN edits fitted on n latents the judge labels."""
    z = torch.randn(n, 3, generator=torch.Generator().manual_seed(0))
    seen = readings(judge, painter(z))
    masks = {"glasses": seen["glasses"] > 0.5, "eye_size": seen["eye_size"] > 0.5}
    return fit_edits(z, masks, {}, {}, linear_boundary, ["eye_size"])


def eye_moved(painter: Painter, judge: Judge, dirs: LatentEdits) -> float:
    """The gate's measure on fresh latents: the share of faces whose eye size moves by more than
    a tenth of its range when glasses are added or removed (the worse sign)."""
    z = torch.randn(2000, 3, generator=torch.Generator().manual_seed(7))
    before = readings(judge, painter(z))["eye_size"]
    worst = 0.0
    for sign in (1.0, -1.0):
        after = readings(judge, painter(edit_latent(z, {"glasses": sign}, dirs)))["eye_size"]
        worst = max(worst, ((after - before).abs() > 0.1).float().mean().item())
    return worst


def test_refining_removes_what_a_direction_moves_besides_its_attribute():
    painter, judge = Painter(), Judge()
    fit = fitted(painter, judge)
    # An entangled start: straight along z0, the way an unconditional boundary points, so adding
    # glasses also grows the eyes. Refining must find the compensation (down along z1).
    normal = fit.reach["glasses"].normal
    straight = torch.tensor([1.0, 0.0, 0.0]) / normal[0]  # straight @ normal == 1
    start = LatentEdits({**fit.directions, "glasses": straight}, fit.categories, fit.reach)
    refined, report = refine(painter, judge, start, steps=150, batch=128, seed=1)

    g = report["glasses"]
    assert g["refined"] and g["side_after"] < 0.3 * g["side_before"], report
    assert g["effect_after"] >= 0.95 * g["effect_before"], report
    assert refined["glasses"][1] < -0.5  # compensates along eye size's own axis
    assert eye_moved(painter, judge, refined) < 0.5 * eye_moved(painter, judge, start)
    # The amount keeps its meaning: the refined direction still moves a face by 1 along the
    # attribute's reach normal, and the reach (where faces lie) is the fitted one.
    assert torch.allclose(refined["glasses"] @ normal, torch.tensor(1.0), atol=1e-4)
    assert refined.reach == fit.reach and set(refined) == set(fit)


def test_a_refinement_that_does_no_better_on_held_out_latents_is_not_kept():
    painter, judge = Painter(), Judge()
    fit = fitted(painter, judge)
    # No steps: the candidate is the fitted direction, no better on the held-out latents.
    same, report = refine(painter, judge, fit, steps=0, batch=64, seed=2)
    assert report and not any(r["refined"] for r in report.values()), report
    assert all(torch.equal(same[k], fit[k]) for k in fit)
    # With steps, each attribute is kept exactly when it did better.
    refined, report = refine(painter, judge, fit, steps=20, batch=64, seed=2)
    for name, r in report.items():
        assert r["refined"] == (r["side_after"] < r["side_before"] and r["effect_after"] >= 0.95 * r["effect_before"])  # fmt: skip
        assert torch.equal(refined[name], fit[name]) != r["refined"]


def test_refining_is_deterministic():
    painter, judge = Painter(), Judge()
    edits = fitted(painter, judge)
    a, _ = refine(painter, judge, edits, steps=5, batch=16, seed=3)
    b, _ = refine(painter, judge, edits, steps=5, batch=16, seed=3)
    assert all(torch.equal(a[k], b[k]) for k in a)
