"""The VAE: shapes, reparameterization, the ELBO, checkpoints, and mean-difference directions."""

from __future__ import annotations

import pytest
import torch

from gencode.models import vae as V
from gencode.models.checkpoint import CheckpointError, save_checkpoint
from gencode.models.directions import mean_difference

TINY = {"latent_dim": 4, "size": 16, "width": 8}


pytestmark = pytest.mark.usefixtures("one_thread_module")


def _tiny() -> V.VAE:
    return V.VAE(V.make_config(TINY))


def test_shapes() -> None:
    m = _tiny()
    x = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    mu, logvar = m.encode(x)
    assert mu.shape == logvar.shape == (3, 4) and m.latent_shape == (4,)
    y = m.decode(mu)
    assert y.shape == (3, 3, 16, 16) and y.abs().max() <= 1
    with pytest.raises(ValueError, match="4 \\* 2\\*\\*k"):
        V.VAE(V.VAEConfig(size=24))


def test_reparameterization_uses_only_the_given_generator() -> None:
    m = _tiny()
    x = torch.zeros(2, 3, 16, 16)
    a = m(x, torch.Generator().manual_seed(3))[0]
    b = m(x, torch.Generator().manual_seed(3))[0]
    c = m(x, torch.Generator().manual_seed(4))[0]
    assert torch.equal(a, b) and not torch.equal(a, c)
    mu, _ = m.encode(x)
    assert torch.equal(m(x, None)[0], m.decode(mu))  # no generator: the posterior mean


def test_elbo_terms() -> None:
    x = torch.rand(2, 3, 4, 4)
    zero = torch.zeros(2, 5)
    loss, rec, kl = V.elbo_loss(x, x, zero, zero, sigma_x=0.1)
    assert loss == 0 and rec == 0 and kl == 0
    _, rec, kl = V.elbo_loss(x, x + 0.1, torch.ones(2, 5), zero, sigma_x=0.1)
    assert rec.item() == pytest.approx(48 * 0.01 / 0.02, rel=1e-4)  # 48 pixels per image
    assert kl.item() == pytest.approx(2.5)  # 0.5 * sum(mu^2) over 5 dims
    _, _, kl_beta = V.elbo_loss(x, x, torch.ones(2, 5), zero, 0.1, beta=0.5)
    assert kl_beta.item() == pytest.approx(2.5)  # beta weights the loss, not the reported term


def test_elbo_trains_a_tiny_vae() -> None:
    torch.manual_seed(0)  # only for nn.Module's default init; data and eps use explicit generators
    m = _tiny()
    g = torch.Generator().manual_seed(0)
    x = torch.rand(16, 3, 16, 16, generator=g) * 2 - 1
    opt = torch.optim.Adam(m.parameters(), 3e-3)
    losses = []
    for _ in range(30):
        loss = V.elbo_loss(x, *m(x, g), sigma_x=0.3)[0]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]


def test_checkpoint_round_trip(tmp_path) -> None:
    m = _tiny().eval()
    path = tmp_path / "v.safetensors"
    tensors = {f"vae.{k}": v for k, v in m.state_dict().items()}
    save_checkpoint(path, tensors, family="vae", arch="vae", config=V.config_dict(m.cfg))
    loaded = V.load_vae(path)
    x = torch.rand(5, 3, 16, 16, generator=torch.Generator().manual_seed(2)) * 2 - 1
    z = V.encode_images(loaded, x, batch=2)
    assert torch.allclose(z, m.encode(x)[0].detach(), atol=1e-6)
    assert torch.allclose(
        V.decode_latents(loaded, z, batch=2), m.decode(z.clone()).detach(), atol=1e-6
    )
    save_checkpoint(path, {"g": torch.zeros(1)}, family="gan", arch="dcgan", config={})
    with pytest.raises(CheckpointError, match="not a VAE"):
        V.load_vae(path)


def test_mean_difference() -> None:
    z = torch.tensor([[1.0, 0.0], [3.0, 2.0], [0.0, 0.0], [0.0, 2.0]])
    mask = torch.tensor([True, True, False, False])
    assert torch.equal(mean_difference(z, mask), torch.tensor([2.0, 0.0]))
    with pytest.raises(ValueError):
        mean_difference(z, torch.ones(4, dtype=torch.bool))


def test_fitted_latent_space_whitens_the_codes() -> None:
    m = _tiny().eval()
    g = torch.Generator().manual_seed(5)
    mix = torch.randn(4, 4, generator=g)
    codes = torch.randn(4000, 4, generator=g) @ mix + 3.0  # offset and correlated
    m.fit_prior(codes)
    z = (codes - m.latent_mean) @ torch.linalg.inv(m.latent_scale).T
    assert z.mean(0).abs().max() < 1e-4
    assert torch.allclose(torch.cov(z.T), torch.eye(4), atol=1e-3)
    x = torch.rand(3, 3, 16, 16, generator=g) * 2 - 1
    with torch.no_grad():
        raw, _ = m.posterior(x)
        public, _ = m.encode(x)
        assert torch.allclose(m.decode(public), m.generate(raw), atol=1e-5)  # same image
