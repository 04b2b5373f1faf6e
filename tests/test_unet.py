"""The diffusion UNet: shapes, conditioning, config round trip, size of the default, speed."""

from __future__ import annotations

import time

import pytest
import torch

from gencode.models.unet import UNet, UNetConfig, build, count_parameters, timestep_embedding

TINY = UNetConfig(base_channels=8, channel_mults=(1, 2), emb_dim=16, vocab_size=5, groups=4)


def _randomised(cfg: UNetConfig, seed: int = 0) -> UNet:
    """A UNet whose zero-initialised output layer has been given weights, so outputs vary."""
    torch.manual_seed(seed)
    net = UNet(cfg).eval()
    torch.nn.init.normal_(net.out.weight, std=0.5)
    return net


@pytest.mark.parametrize("cfg", [TINY, UNetConfig(vocab_size=3)])
@pytest.mark.parametrize("h, w", [(16, 16), (32, 32), (16, 24)])
def test_output_shape_matches_input(cfg, h, w):
    net = UNet(cfg).eval()
    x = torch.randn(2, 3, h, w)  # (B, C, H, W)
    with torch.no_grad():
        out = net(x, torch.tensor([3.0, 500.0]), net.encode_prompt([[0], [1, 2]]))
    assert out.shape == x.shape


def test_starts_by_predicting_zero():
    net = UNet(TINY)
    assert torch.count_nonzero(net(torch.randn(1, 3, 8, 8), torch.tensor([10.0]))) == 0


def test_conditioning_changes_the_output():
    net = _randomised(TINY)
    for p in net.words.parameters():
        torch.nn.init.normal_(p)
    x, t = torch.randn(1, 3, 16, 16), torch.tensor([200.0])
    with torch.no_grad():
        a = net(x, t, net.encode_prompt([[0]]))
        b = net(x, t, net.encode_prompt([[1]]))
        c = net(x, t, None)
        d = net(x, torch.tensor([800.0]), net.encode_prompt([[0]]))
    assert not torch.allclose(a, b) and not torch.allclose(a, c) and not torch.allclose(a, d)


def test_encode_prompt_means_words_and_empty_is_null():
    net = UNet(TINY)
    torch.nn.init.normal_(net.null_cond)
    with torch.no_grad():
        cond = net.encode_prompt([[1, 3], [], [2]])  # (B, D)
    assert cond.shape == (3, TINY.emb_dim)
    w = net.words.weight
    assert torch.allclose(cond[0], (w[1] + w[3]) / 2)
    assert torch.allclose(cond[1], net.null_cond)
    assert torch.allclose(cond[2], w[2])
    assert torch.equal(net.null_condition(4)[3], net.null_cond)


def test_film_and_attention_are_optional():
    cfg = UNetConfig(
        **{**TINY.to_dict(), "channel_mults": (1, 2), "film": False, "attention": False}
    )
    net = UNet(cfg)
    assert net(torch.randn(1, 3, 8, 8), torch.tensor([1.0])).shape == (1, 3, 8, 8)
    assert count_parameters(net) < count_parameters(UNet(TINY))


def test_config_round_trip_and_errors():
    cfg = UNetConfig(channel_mults=(1, 2, 2), vocab_size=9)
    d = cfg.to_dict()
    assert d["channel_mults"] == [1, 2, 2]
    assert UNetConfig.from_dict(d) == cfg
    assert isinstance(build(d), UNet)
    assert cfg.size_multiple == 4
    with pytest.raises(ValueError, match="chanels"):
        UNetConfig.from_dict({"chanels": 3})


def test_timestep_embedding_is_sinusoidal():
    e = timestep_embedding(torch.tensor([0.0, 10.0, 10.5]), 32)  # (B, D)
    assert e.shape == (3, 32)
    assert torch.allclose(e[0, :16], torch.ones(16)) and torch.allclose(e[0, 16:], torch.zeros(16))
    assert not torch.allclose(e[1], e[2])  # fractional timesteps embed differently


def test_default_is_about_a_million_parameters():
    n = count_parameters(UNet(UNetConfig()))
    assert 0.8e6 < n < 1.3e6


@pytest.mark.slow
def test_default_samples_interactively():
    """20 steps of classifier-free guidance (batch 2 through the net) at 32x32 in well under 1 s."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: 2 oversubscribe badly when the cores are shared
    net = UNet(UNetConfig()).eval()
    x = torch.randn(2, 3, 32, 32)
    cond = net.encode_prompt([[1], []])
    with torch.inference_mode():
        net(x, torch.tensor([1.0]), cond)  # warm-up
        t0 = time.perf_counter()
        for i in range(20):
            net(x, torch.tensor([float(999 - 50 * i)]), cond)
        seconds = time.perf_counter() - t0
    torch.set_num_threads(threads)
    assert seconds < 1.0
