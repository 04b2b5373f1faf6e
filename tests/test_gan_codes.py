"""A GAN whose latent carries the attributes: which coordinates of z carry what, and a critic that
sees the labels (gencode.train.gan_codes)."""

from __future__ import annotations

import pytest
import torch

from gencode.data import faces
from gencode.models import gan
from gencode.train.gan_codes import Codes, ProjectionCritic


@pytest.fixture(scope="module")
def codes() -> Codes:
    return Codes(faces.ATTRIBUTES)


def test_each_attribute_owns_its_own_coordinates(codes: Codes) -> None:
    assert codes.describe() == {
        "smile": [0],
        "hair": [1, 2, 3, 4],
        "skin": [5],
        "glasses": [6],
        "eye_size": [7],
    }
    z = torch.randn(64, 16, generator=torch.Generator().manual_seed(0))
    base = codes.of_latents(z)
    for name, slot in codes.slots.items():
        moved = z.clone()
        moved[:, slot] = torch.randn(64, slot.stop - slot.start)
        changed = (codes.of_latents(moved) != base).any(0)
        assert changed[slot].any(), name
        assert not changed[: slot.start].any() and not changed[slot.stop :].any(), name
    rest = z.clone()
    rest[:, codes.dim :] = 0  # the coordinates after the codes are free noise
    assert torch.equal(codes.of_latents(rest), base)


def test_latents_carry_labels_distributed_as_the_painter_draws_them(codes: Codes) -> None:
    """A standard normal z reads as labels with the painter's own distribution (uniform levels,
    glasses half the time, each hair colour a quarter), so the critic sees no difference there."""
    z = torch.randn(20000, 64, generator=torch.Generator().manual_seed(1))
    from_z = codes.of_latents(z)
    _, labels = faces.generate(4000, seed=3, size=8)
    true = codes.of_labels(labels)
    assert from_z.shape == (20000, 8) and true.shape == (4000, 8)
    for k in range(codes.dim):  # glasses' share and each hair colour's
        assert abs(from_z[:, k].mean() - true[:, k].mean()) < 0.04, k
    q = torch.tensor([0.1, 0.25, 0.5, 0.75, 0.9])
    for name in ("smile", "skin", "eye_size"):  # levels: the whole distribution
        k = codes.slots[name].start
        assert torch.allclose(from_z[:, k].quantile(q), true[:, k].quantile(q), atol=0.05), name


def test_true_labels_become_the_vector_the_critic_sees(codes: Codes) -> None:
    face = {"smile": 1.0, "hair": "red", "skin": 0.0, "glasses": True, "eye_size": 0.5}
    frown = {"smile": -1.0, "hair": "black", "skin": 1.0, "glasses": False, "eye_size": 0.0}
    got = codes.of_labels([face, frown])
    assert got.tolist() == [[1, 0, 0, 0, 1, -1, 1, 0], [-1, 1, 0, 0, 0, 1, -1, -1]]


def test_a_latent_too_short_for_the_codes_is_refused(codes: Codes) -> None:
    with pytest.raises(ValueError, match="6 numbers cannot carry 8 codes"):
        codes.of_latents(torch.zeros(2, 6))


def test_the_projection_critic_judges_an_image_with_its_labels(codes: Codes) -> None:
    torch.manual_seed(0)
    _, D = gan.build("dcgan", {"latent_dim": 16, "size": 32, "width": 8})
    critic = ProjectionCritic(D, codes.dim).eval()
    x = torch.randn(4, 3, 32, 32)
    y = codes.of_latents(torch.randn(4, 16))
    other = y.clone()
    other[:, codes.slots["glasses"]] *= -1
    assert critic(x, y).shape == (4,)
    assert not torch.allclose(critic(x, y), critic(x, other))  # the labels count
    critic(x, y).sum().backward()
    assert critic.embed.weight.grad is not None and critic.embed.weight.grad.abs().sum() > 0
    assert critic.body[0] is D.net[0]  # the critic's own layers, not copies
    logit, read = critic.read(x, y)
    assert torch.equal(logit, critic(x, y)) and read.shape == (4, codes.dim)


def test_a_generator_held_to_its_labels_learns_to_draw_them(codes: Codes) -> None:
    """The label loss alone, through a critic that reads a label, moves a generator towards
    drawing what its z says: a tiny check of the AC-GAN path's gradients, not of a GAN."""
    torch.manual_seed(0)
    G, D = gan.build("dcgan", {"latent_dim": 16, "size": 8, "width": 4})
    critic = ProjectionCritic(D, codes.dim)
    with torch.no_grad():
        critic.aux.weight.zero_()
        critic.aux.bias.zero_()
    z = torch.randn(32, 16)
    y = codes.of_latents(z)
    opt = torch.optim.Adam(list(G.parameters()) + list(critic.aux.parameters()), 1e-2)
    first = None
    for _ in range(60):
        loss = torch.nn.functional.mse_loss(critic.read(G(z), y)[1], y)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * first
