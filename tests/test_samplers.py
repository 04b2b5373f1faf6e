"""Samplers, schedules and denoisers: oracle convergence, determinism, one contract for all."""

from __future__ import annotations

import inspect

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gencode.samplers import SAMPLERS, get_sampler
from gencode.samplers.denoisers import (
    EpsDenoiser,
    GuidedDenoiser,
    VDenoiser,
    build_denoiser,
)
from gencode.samplers.names import SAMPLER_NAMES, SAMPLER_SPECS, SamplerSpec
from gencode.samplers.schedules import (
    alphas_cumprod,
    get_sigmas,
    img2img_sigmas,
    timesteps_for,
    to_sigmas,
)

AC = {name: alphas_cumprod(name) for name in ("linear", "cosine")}


def _oracle(target: torch.Tensor):
    """A denoiser that always predicts the same clean image."""
    return lambda x, sigma, **extra: target.expand_as(x)


def _start(shape, sigmas, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g) * sigmas[0], g


def test_names_match_registry():
    assert sorted(SAMPLERS) == sorted(SAMPLER_NAMES)
    for name in ("euler", "ddim", "ddpm"):
        assert get_sampler(name) is SAMPLERS[name]
    with pytest.raises(KeyError, match="known"):
        get_sampler("nope")


SHARED = {"model", "x", "sigmas", "extra_args", "callback", "generator", "opts"}


@pytest.mark.parametrize("name", SAMPLER_NAMES)
def test_each_samplers_options_are_the_ones_its_table_entry_declares(name):
    """samplers.names is the one statement of options: the checker, the key, the runtime read it."""
    params = inspect.signature(SAMPLERS[name]).parameters
    options = {k: p.default for k, p in params.items() if k not in SHARED}
    assert options == SAMPLER_SPECS[name].options


def test_sampler_labels_come_from_the_table_and_never_hold_a_colon():
    from gencode.a1111 import infotext
    from gencode.provenance.record import SCHEMA

    for name in [*SAMPLER_NAMES, "diffusers:DDIMScheduler"]:
        record = {"schema": SCHEMA, "script": {}, "sampler": name, "size": [8, 8]}
        text = infotext(record)
        assert text is not None
        sampler = text.split("Sampler: ", 1)[1].split(", Size")[0]
        assert ":" not in sampler and '"' not in sampler
        assert sampler == SAMPLER_SPECS.get(name, SamplerSpec("DDIMScheduler")).label


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(sorted(SAMPLERS)),
    steps=st.integers(1, 40),
    schedule=st.sampled_from(["linear", "cosine"]),
    spacing=st.sampled_from(["leading", "trailing"]),
    seed=st.integers(0, 2**31 - 1),
)
def test_oracle_converges(name, steps, schedule, spacing, seed):
    sigmas = get_sigmas(AC[schedule], steps, spacing)
    target = torch.rand(1, 3, 4, 4, generator=torch.Generator().manual_seed(seed)) * 2 - 1
    x, g = _start((2, 3, 4, 4), sigmas, seed)
    out = SAMPLERS[name](_oracle(target), x, sigmas, generator=g)
    tol = 1e-4 + 1e-6 * float(sigmas[0])  # float32 rounding of x ~ sigma_max * noise
    assert torch.allclose(out, target.expand_as(out), atol=tol)


@settings(max_examples=20, deadline=None)
@given(steps=st.integers(1, 30), seed=st.integers(0, 1000))
def test_ddim_eta0_is_deterministic(steps, seed):
    sigmas = get_sigmas(AC["linear"], steps)

    def model(x, sigma, **extra):
        return torch.tanh(x / (1 + sigma.view(-1, 1, 1, 1)))

    x, _ = _start((2, 3, 4, 4), sigmas, seed)
    a = SAMPLERS["ddim"](model, x, sigmas, generator=torch.Generator().manual_seed(1))
    b = SAMPLERS["ddim"](model, x, sigmas, generator=torch.Generator().manual_seed(2))
    c = SAMPLERS["ddim"](model, x, sigmas)  # eta 0 needs no generator at all
    assert torch.equal(a, b) and torch.equal(a, c)


@settings(max_examples=15, deadline=None)
@given(steps=st.integers(2, 30), seed=st.integers(0, 1000))
def test_ddpm_is_ddim_with_eta_one(steps, seed):
    """The DDPM posterior and DDIM at eta 1 are the same distribution: same noise, same samples."""
    sigmas = get_sigmas(AC["linear"], steps)

    def model(x, sigma, **extra):
        return 0.5 * x / (1 + sigma.view(-1, 1, 1, 1))

    x, _ = _start((2, 3, 4, 4), sigmas, seed)
    a = SAMPLERS["ddpm"](model, x, sigmas, generator=torch.Generator().manual_seed(seed))
    b = SAMPLERS["ddim"](model, x, sigmas, generator=torch.Generator().manual_seed(seed), eta=1.0)
    assert torch.allclose(a, b, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_sampler_contract(name):
    """Every sampler: the shared signature, shape/dtype kept, extra args passed, callback per step,
    no global RNG, same generator seed → same result."""
    fn = SAMPLERS[name]
    params = inspect.signature(fn).parameters
    assert list(params)[:3] == ["model", "x", "sigmas"]
    for kw in ("extra_args", "callback", "generator"):
        assert params[kw].kind is inspect.Parameter.KEYWORD_ONLY
    assert fn.__name__ == f"sample_{name}" and fn.__doc__
    sigmas = get_sigmas(AC["linear"], 6)
    seen: list[dict] = []
    calls: list[float] = []

    def model(x, sigma, *, scale):
        calls.append(scale)
        return x * 0.3 * scale / (1 + sigma.view(-1, 1, 1, 1))

    state = torch.get_rng_state()
    x, _ = _start((3, 3, 8, 8), sigmas, 0)
    runs = [
        fn(
            model,
            x,
            sigmas,
            extra_args={"scale": 2.0},
            callback=seen.append,
            generator=torch.Generator().manual_seed(5),
        )
        for _ in range(2)
    ]
    assert torch.equal(torch.get_rng_state(), state)
    assert runs[0].shape == x.shape and runs[0].dtype == x.dtype
    assert torch.equal(runs[0], runs[1]) and torch.isfinite(runs[0]).all()
    assert set(calls) == {2.0}
    assert [d["i"] for d in seen] == list(range(6)) * 2
    assert {"x", "sigma", "denoised"} <= set(seen[0])


def test_img2img_tail_starts_from_an_image():
    sigmas = get_sigmas(AC["linear"], 20)
    assert len(img2img_sigmas(sigmas, 1.0)) == 21
    assert len(img2img_sigmas(sigmas, 0.5)) == 11
    assert len(img2img_sigmas(sigmas, 0.0)) == 1
    target = torch.zeros(1, 3, 4, 4)
    tail = img2img_sigmas(sigmas, 0.3)
    x = torch.ones(1, 3, 4, 4) + torch.randn(1, 3, 4, 4) * tail[0]
    out = SAMPLERS["euler"](_oracle(target), x, tail)
    assert torch.allclose(out, target, atol=1e-5)
    with pytest.raises(ValueError):
        img2img_sigmas(sigmas, 1.5)


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_schedules_monotone(name):
    ac = AC[name]
    assert ac.shape == (1000,) and (ac > 0).all() and (ac < 1).all()
    assert (ac[1:] < ac[:-1]).all()
    s = to_sigmas(ac)
    assert (s[1:] > s[:-1]).all()
    for spacing in ("leading", "trailing"):
        for steps in (1, 7, 20, 50, 1000):
            sig = get_sigmas(ac, steps, spacing)
            assert sig.shape == (steps + 1,) and sig[-1] == 0
            assert (sig[1:] < sig[:-1]).all()
    assert timesteps_for(1000, 10, "trailing")[0] == 999
    assert timesteps_for(1000, 10, "leading")[-1] == 0
    with pytest.raises(ValueError, match="spacing"):
        get_sigmas(ac, 10, "middle")
    with pytest.raises(ValueError, match="schedule"):
        alphas_cumprod("quadratic")


class _KnowsX0(torch.nn.Module):
    """A network that predicts the exact eps (or v) for a known clean image."""

    def __init__(self, x0, ac, prediction):
        super().__init__()
        self.x0, self.ac, self.prediction = x0, ac, prediction

    def forward(self, x_in, t, cond=None):
        a = self.ac[t.round().long()].float().view(-1, 1, 1, 1)
        eps = (x_in - a.sqrt() * self.x0) / (1 - a).sqrt()
        return eps if self.prediction == "eps" else a.sqrt() * eps - (1 - a).sqrt() * self.x0


@pytest.mark.parametrize("cls, prediction", [(EpsDenoiser, "eps"), (VDenoiser, "v")])
def test_denoisers_recover_x0(cls, prediction):
    ac = AC["linear"]
    x0 = torch.rand(2, 3, 4, 4) * 2 - 1
    den = cls(_KnowsX0(x0, ac, prediction), ac)
    sigmas = get_sigmas(ac, 10)[:-1]
    for sigma in sigmas:
        s = sigma.expand(2)
        assert torch.allclose(den.sigma_to_t(s), den.sigma_to_t(s).round(), atol=1e-3)
        x = x0 + torch.randn_like(x0) * sigma
        assert torch.allclose(den(x, s), x0, atol=2e-3 * max(1.0, float(sigma)))


def test_cfg_batches_and_mixes():
    """The one classifier-free guidance wrapper: cond and uncond in one forward, a scale per row,
    and no unconditional half at all when every scale is 1."""
    calls = []

    def inner(x, sigma, cond):
        calls.append(x.shape[0])
        return x * 0 + cond[:, :1, None, None]

    x, sigma = torch.zeros(2, 3, 4, 4), torch.ones(2)
    cond, uncond = torch.full((2, 5), 3.0), torch.full((2, 5), 1.0)
    out = GuidedDenoiser(inner, [2.5])(x, sigma, cond=cond, uncond=uncond)
    assert calls == [4]  # cond and uncond in one forward
    assert torch.allclose(out, torch.full_like(out, 1 + 2.5 * (3 - 1)))
    out = GuidedDenoiser(inner, [2.5, 1.0])(x, sigma, cond=cond, uncond=uncond)
    assert torch.allclose(out[0], torch.full_like(out[0], 6.0)) and torch.allclose(
        out[1], out[1] * 0 + 3
    )
    out = GuidedDenoiser(inner, [1.0, 1.0])(x, sigma, cond=cond, uncond=uncond)
    assert calls[-1] == 2 and torch.allclose(out, torch.full_like(out, 3.0))
    assert not isinstance(build_denoiser(inner, AC["linear"]), GuidedDenoiser)
    with pytest.raises(ValueError):
        build_denoiser(inner, AC["linear"], prediction="x0")


@pytest.mark.parametrize("name", ["ddpm", "euler_ancestral", "ddim"])
def test_per_row_generators_make_a_batch_equal_its_rows(name):
    """With one generator per row, a batched ancestral run equals each row sampled alone."""
    sigmas = get_sigmas(AC["linear"], 8)

    def model(x, sigma, **extra):
        return torch.tanh(x / (1 + sigma.view(-1, 1, 1, 1)))

    x, _ = _start((3, 3, 4, 4), sigmas, 0)
    opts = {"eta": 1.0} if "eta" in SAMPLER_SPECS[name].options else {}
    gens = [torch.Generator().manual_seed(s) for s in (11, 12, 13)]
    batched = SAMPLERS[name](model, x, sigmas, generator=gens, **opts)
    for i, seed in enumerate((11, 12, 13)):
        g = [torch.Generator().manual_seed(seed)]
        alone = SAMPLERS[name](model, x[i : i + 1], sigmas, generator=g, **opts)
        assert torch.allclose(batched[i : i + 1], alone, atol=1e-6)
    with pytest.raises(ValueError, match="generators"):
        SAMPLERS[name](model, x, sigmas, generator=gens[:2], **opts)


def test_names_dataset_and_recipes_import_without_torch():
    """The checker validates `sampler ddim` and reads recipes and prompts without importing torch."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import gencode.samplers.names, gencode.data.scenes, gencode.data.words, gencode.train.recipe\n"
        "assert 'ddim' in gencode.samplers.names.SAMPLER_NAMES\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
