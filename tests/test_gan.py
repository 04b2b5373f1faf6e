"""GAN architectures: shapes, configs, checkpoint round trip, and InterFaceGAN directions."""

from __future__ import annotations

import pytest
import torch
from runtime_support import LAYOUT_ATOL

from gencode.models import gan
from gencode.models.checkpoint import CheckpointError, save_checkpoint
from gencode.models.directions import (
    Category,
    LatentEdits,
    Reach,
    categorical_targets,
    conditional,
    edit_latent,
    fit_edits,
    from_tensors,
    linear_boundary,
    load_directions,
    mean_difference,
    to_tensors,
)

TINY = {"mlp-gan": {"latent_dim": 8, "size": 8, "hidden": [16, 32], "disc_hidden": [16]},
        "dcgan": {"latent_dim": 8, "size": 16, "width": 8}}  # fmt: skip


pytestmark = pytest.mark.usefixtures("one_thread_module")


@pytest.mark.parametrize("arch", list(gan.ARCHS))
def test_shapes_and_range(arch: str) -> None:
    g, d = gan.build(arch, TINY[arch])
    size = TINY[arch]["size"]
    z = torch.randn(5, *g.latent_shape, generator=torch.Generator().manual_seed(0))
    x = g(z)
    assert x.shape == (5, 3, size, size)
    assert x.abs().max() <= 1
    assert d(x).shape == (5,)


def test_classic_mlp_generator_layout() -> None:
    g, _ = gan.build("mlp-gan", {})
    linears = [m.out_features for m in g.net if isinstance(m, torch.nn.Linear)]
    assert linears == [128, 256, 512, 1024, 3 * 32 * 32]
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in g.net) == 3
    assert isinstance(g.net[-1], torch.nn.Tanh)


def test_dcgan_sizes() -> None:
    g, d = gan.build("dcgan", {"latent_dim": 4, "size": 64, "width": 4})
    x = g(torch.zeros(2, 4))
    assert x.shape == (2, 3, 64, 64) and d(x).shape == (2,)
    with pytest.raises(ValueError, match="4 \\* 2\\*\\*k"):
        gan.build("dcgan", {"size": 48})
    with pytest.raises(ValueError, match="unknown GAN arch"):
        gan.build("stylegan", {})


def test_config_round_trip() -> None:
    cfg = gan.make_config("mlp-gan", TINY["mlp-gan"])
    assert cfg.hidden == (16, 32)
    assert gan.make_config("mlp-gan", gan.config_dict(cfg)) == cfg


@pytest.mark.parametrize("arch", list(gan.ARCHS))
def test_checkpoint_round_trip(arch: str, tmp_path) -> None:
    g, _ = gan.build(arch, TINY[arch])
    g.eval()
    tensors = {f"generator.{k}": v for k, v in g.state_dict().items()}
    tensors |= to_tensors({"smile": torch.ones(8)})
    path = tmp_path / "g.safetensors"
    save_checkpoint(path, tensors, family="gan", arch=arch, config=TINY[arch], meta={"z_dim": 8})
    loaded = gan.load_generator(path)
    z = torch.randn(7, 8, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(gan.generate(loaded, z, batch=3), g(z).detach(), atol=LAYOUT_ATOL)
    assert set(load_directions(path)) == {"smile"}


def test_load_refuses_other_families(tmp_path) -> None:
    path = tmp_path / "v.safetensors"
    save_checkpoint(path, {"vae.x": torch.zeros(1)}, family="vae", arch="vae", config={})
    with pytest.raises(CheckpointError, match="not a GAN"):
        gan.load_generator(path)


def test_linear_boundary_finds_the_separating_direction() -> None:
    z = torch.randn(2000, 6, generator=torch.Generator().manual_seed(0))
    mask = (2 * z[:, 0] + z[:, 1]) > 0
    d = linear_boundary(z, mask)
    unit = d / d.norm()
    assert torch.dot(unit, torch.tensor([2.0, 1, 0, 0, 0, 0]) / 5**0.5) > 0.98
    # amount 1 moves a latent by the gap between the groups' mean projections (about 1.6 here)
    assert 1.2 < d.norm() < 2.0
    assert ((edit_latent(z, {"a": 1.0}, {"a": d}) @ unit) - z @ unit).allclose(d.norm())


def test_linear_boundary_needs_both_groups() -> None:
    with pytest.raises(ValueError, match="with and without"):
        linear_boundary(torch.zeros(4, 2), torch.zeros(4, dtype=torch.bool))


def test_edit_latent() -> None:
    z = torch.zeros(3, 2)
    dirs = {"smile": torch.tensor([1.0, 0.0]), "glasses": torch.tensor([0.0, 2.0])}
    out = edit_latent(z, {"smile": 1.5, "glasses": -0.5}, dirs)
    assert torch.equal(out, torch.tensor([[1.5, -1.0]] * 3))
    assert torch.equal(z, torch.zeros(3, 2))  # not edited in place
    with pytest.raises(KeyError, match="this model knows: glasses, smile"):
        edit_latent(z, {"beard": 1.0}, dirs)


def test_categorical_edits_reach_the_value_from_every_side() -> None:
    # three colours on a line in latent space (black, brown, red): no single direction makes
    # both black and red latents browner, but the target edit does
    g = torch.Generator().manual_seed(0)
    classes = torch.arange(300) % 3
    z = torch.randn(300, 4, generator=g) * 0.1
    z[:, 0] += classes.float() * 2  # black at 0, brown at 2, red at 4
    cat = categorical_targets(z, classes, ["hair_black", "hair_brown", "hair_red"])
    assert cat.basis.shape == (4, 1)  # three means on a line span one dimension
    edits = LatentEdits({"hair_brown": torch.zeros(4), "hair_red": torch.zeros(4)}, {"hair": cat})
    start = torch.tensor([[0.0, 0.5, 0, 0], [4.0, -0.5, 0, 0]])  # a black and a red latent
    out = edit_latent(start, {"hair_brown": 1.0}, edits)
    assert torch.allclose(out[:, 0], torch.full((2,), 2.0), atol=0.05)  # both now brown
    assert torch.allclose(out[:, 1:], start[:, 1:], atol=0.05)  # the rest untouched
    half = edit_latent(start, {"hair_brown": 0.5}, edits)
    assert torch.allclose(half[:, 0], torch.tensor([1.0, 3.0]), atol=0.05)
    # removing red from a red latent gives the nearest other colour (brown), not a reflection
    gone = edit_latent(torch.tensor([[4.0, 0, 0, 0]]), {"hair_red": -1.0}, edits)
    assert abs(gone[0, 0].item() - 2.0) < 0.05


def test_edits_round_trip_through_tensors() -> None:
    cat = Category(("hair_black", "hair_red"), torch.stack([torch.zeros(3), torch.ones(3)]),
                   torch.eye(3)[:, :1])  # fmt: skip
    edits = LatentEdits({"smile": torch.ones(3), "hair_red": torch.ones(3)}, {"hair": cat})
    tensors = to_tensors(edits)
    assert {"target.hair.black", "target.hair.red", "subspace.hair"} <= set(tensors)
    back = from_tensors(tensors).to("cpu")
    assert set(back) == {"smile", "hair_red"}
    assert back.categories["hair"].names == cat.names
    assert torch.equal(back.categories["hair"].targets, cat.targets)
    assert back.category_of("hair_red")[1] == 1 and back.category_of("smile") is None


def _entangled(n: int = 4000) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Latents where smile is read along x0 and glasses along x0 + x1: the two attributes'
    directions share x0, so a plain smile edit also adds glasses (the issue's 34%)."""
    z = torch.randn(n, 4, generator=torch.Generator().manual_seed(3))
    return z, {"smile": z[:, 0] > 0, "glasses": z[:, 0] + z[:, 1] > 0}


def test_conditional_edits_leave_the_other_attributes_where_they_were() -> None:
    z, masks = _entangled()
    plain = {k: linear_boundary(z, m) for k, m in masks.items()}
    assert abs(torch.nn.functional.cosine_similarity(plain["smile"], plain["glasses"], 0)) > 0.5
    edits = fit_edits(z, masks, {}, {}, linear_boundary, continuous=["smile"])
    glasses_normal = edits.reach["glasses"].normal
    assert abs(edits["smile"] @ glasses_normal) < 1e-4  # orthogonal to what glasses is read from
    # and it still reaches as far along its own attribute: one gap per amount
    assert torch.allclose(edits["smile"] @ edits.reach["smile"].normal, torch.tensor(1.0))
    start = torch.tensor([[-0.5, 0.3, 0.0, 0.0]])  # a frowning face without glasses
    after = edit_latent(start, {"smile": 1.0}, edits)
    assert (after @ edits.reach["smile"].normal - start @ edits.reach["smile"].normal) > 0.9
    assert torch.allclose(after @ glasses_normal, start @ glasses_normal, atol=1e-4)


def test_yes_no_edits_stop_at_the_typical_face_with_or_without_it() -> None:
    normal = torch.tensor([1.0, 0.0])  # position along the attribute is x0
    edits = LatentEdits(
        {"glasses": torch.tensor([1.0, 0.0])}, reach={"glasses": Reach(normal, -0.5, 0.5)}
    )
    z = torch.tensor([[-0.5, 1.0], [0.4, 1.0], [0.9, 1.0]])  # none, some, more than typical
    on = edit_latent(z, {"glasses": 1.0}, edits)
    assert torch.allclose(on[:, 0], torch.tensor([0.5, 0.5, 0.9]))  # never pushed past typical
    off = edit_latent(z, {"glasses": -1.0}, edits)
    assert torch.allclose(off[:, 0], torch.tensor([-0.5, -0.5, -0.1]))
    assert torch.equal(on[:, 1], z[:, 1]) and torch.equal(off[:, 1], z[:, 1])
    half = edit_latent(z[:1], {"glasses": 0.5}, edits)
    assert torch.allclose(half[0, 0], torch.tensor(0.0))


def test_a_continuous_reach_spans_the_middle_of_the_faces() -> None:
    z, masks = _entangled()
    edits = fit_edits(z, masks, {}, {}, mean_difference, continuous=["smile"])
    r = edits.reach["smile"]
    s = z @ r.normal
    inside = ((s >= r.lo) & (s <= r.hi)).float().mean()
    assert 0.75 < inside < 0.85  # 10% to 90% of the faces
    far = edit_latent(z, {"smile": 10.0}, edits) @ r.normal
    assert torch.allclose(far, torch.maximum(s, torch.tensor(r.hi)), atol=1e-4)


def test_conditional_categorical_subspace_is_orthogonal_to_the_rest() -> None:
    g = torch.Generator().manual_seed(0)
    classes = torch.arange(300) % 3
    z = torch.randn(300, 4, generator=g)
    z[:, 0] += classes.float() * 2
    z[:, 1] += classes.float()  # hair is partly read along x1, which smile uses too
    cat = categorical_targets(z, classes, ["hair_black", "hair_brown", "hair_red"])
    edits = conditional(LatentEdits({"smile": torch.tensor([0.0, 1.0, 0.0, 0.0])}, {"hair": cat}))
    assert abs(edits.categories["hair"].basis[1, 0]) < 1e-5  # no x1 left in hair's subspace
    assert (edits["smile"] @ cat.basis).abs().max() < 1e-5  # smile moves no hair colour
    assert edits["smile"][1] == pytest.approx(1.0)  # and as far along its own direction


def test_reach_round_trips_through_tensors() -> None:
    edits = LatentEdits(
        {"smile": torch.ones(3)}, reach={"smile": Reach(torch.ones(3) / 3, -1.0, 2.0)}
    )
    back = from_tensors(to_tensors(edits))
    assert back.reach["smile"].lo == -1.0 and back.reach["smile"].hi == 2.0
    assert torch.equal(back.reach["smile"].normal, torch.ones(3) / 3)
    legacy = from_tensors({"direction.smile": torch.ones(3)})  # a checkpoint without reaches
    assert torch.equal(
        edit_latent(torch.zeros(1, 3), {"smile": 2.0}, legacy), torch.full((1, 3), 2.0)
    )
