"""Latent diffusion: the autoencoder and rectified-flow trainers, the flow schedule and denoiser,
and an "ldm" checkpoint rendering through the same ops as every model (diffuse, img2img,
encode/decode, latent walks)."""

from pathlib import Path

import numpy as np
import pytest
import torch

from gencode.models.autoencoder import Autoencoder, AutoencoderConfig
from gencode.models.latent_diffusion import load_latent_diffusion
from gencode.samplers import get_sampler
from gencode.samplers.denoisers import FlowDenoiser
from gencode.samplers.schedules import flow_sigmas
from gencode.train import recipe as recipes

RECIPES = Path(__file__).parent / "recipes"


@pytest.fixture(scope="module")
def tiny_ldm(tmp_path_factory) -> Path:
    """A tiny autoencoder, then a tiny latent flow model on it, trained in seconds."""
    from gencode.train import autoencoder, latent_flow

    root = tmp_path_factory.mktemp("ldm")
    torch.set_num_threads(1)
    ae = recipes.load(RECIPES / "tiny-scenes-ae.toml").with_overrides(run_dir=str(root / "ae"))
    ae_path = autoencoder.train(ae, resume=False, progress=False)
    r = recipes.load(RECIPES / "tiny-scenes-ldm.toml")
    r = r.with_overrides(
        run_dir=str(root / "ldm"), options={**r.options, "autoencoder": str(ae_path)}
    )
    return latent_flow.train(r, resume=False, progress=False)


def test_autoencoder_is_8x_down_4_channels_and_fully_convolutional():
    ae = Autoencoder(AutoencoderConfig()).eval()
    for side in (64, 96, 256):
        z = ae.encode(torch.zeros(1, 3, side, side))
        assert z.shape == (1, 4, side // 8, side // 8)
        assert ae.decode(z).shape == (1, 3, side, side)


def test_autoencoder_config_rejects_unknown_keys():
    with pytest.raises(ValueError, match="unknown autoencoder config keys: widths"):
        AutoencoderConfig.from_dict({"widths": [1]})


def test_flow_sigmas_descend_to_zero_and_shift_towards_noise():
    plain, shifted = flow_sigmas(4, 1.0), flow_sigmas(4, 3.0)
    assert len(plain) == 5 and plain[-1] == 0
    assert torch.all(plain[:-1] > plain[1:])
    assert torch.all(shifted[1:-1] > plain[1:-1])  # more of the steps spent at high noise


class _Oracle(torch.nn.Module):
    """A flow network that knows the answer: v = ε − x0 for the x0 it was built with."""

    def __init__(self, x0: torch.Tensor):
        super().__init__()
        self.x0 = x0

    def forward(self, x_t, t, cond=None):
        tb = (t / 1000).reshape(-1, 1, 1, 1)
        eps = (x_t - (1 - tb) * self.x0) / tb.clamp(min=1e-8)
        return eps - self.x0


@pytest.mark.parametrize("name", ["euler", "ddim", "heun", "dpmpp_2m"])
def test_samplers_walk_a_flow_model_to_its_target(name):
    x0 = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    sigmas = flow_sigmas(4, 3.0)
    z = torch.randn(x0.shape, generator=torch.Generator().manual_seed(1))
    out = get_sampler(name)(FlowDenoiser(_Oracle(x0)), z * sigmas[0], sigmas)
    assert torch.allclose(out, x0, atol=1e-3)


def test_ldm_checkpoint_holds_both_networks_and_says_what_the_checker_needs(tiny_ldm):
    m = load_latent_diffusion(tiny_ldm)
    assert m.meta["native_sizes"] == [64, 32]
    assert m.meta["prediction"] == "flow"
    assert m.meta["latent_channels"] == 4 and m.meta["latent_scale"] == 8
    assert m.image_shape((4, 8, 8)) == (3, 64, 64)
    x = torch.rand(2, 3, 64, 64)
    assert m.to_latent(x).shape == (2, 4, 8, 8)
    assert m.to_image(m.to_latent(x)).shape == (2, 3, 64, 64)


def test_training_resumes_bit_exactly(tmp_path, tiny_ldm):
    from gencode.models.checkpoint import load_tensors
    from gencode.train import latent_flow

    base = recipes.load(RECIPES / "tiny-scenes-ldm.toml")
    ae = str(_ae_of(tiny_ldm))
    opts = {**base.options, "autoencoder": ae}
    straight = base.with_overrides(run_dir=str(tmp_path / "a"), options=opts)
    latent_flow.train(straight, resume=False, progress=False)
    cut = base.with_overrides(run_dir=str(tmp_path / "b"), options=opts, steps=3)
    latent_flow.train(cut, resume=False, progress=False)
    latent_flow.train(cut.with_overrides(steps=6), resume=True, progress=False)
    a, b = load_tensors(straight.output_path), load_tensors(cut.output_path)
    assert all(torch.equal(a[k], b[k]) for k in a)


def _ae_of(ldm_path: Path) -> Path:
    return ldm_path.parent.parent / "ae" / "tiny-scenes-ae.safetensors"


def test_a_script_renders_stills_img2img_encode_decode_and_walks(tmp_path, tiny_ldm):
    from gencode.render import render

    (tmp_path / "tiny.safetensors").write_bytes(tiny_ldm.read_bytes())
    script = tmp_path / "s.gen"
    script.write_text(
        'model "tiny.safetensors"\nsize 64\nseed 3\n'
        'a = diffuse "dunes at night" steps 3\nsave a "a.png"\n'
        'b = diffuse "lake" from a strength 0.5 steps 4\nsave b "b.png"\n'
        'c = decode (encode a)\nsave c "c.png"\n'
        'w = interpolate latent p q 3\nsave w "w/{frame:02}.png"\n'
    )
    render(script, tmp_path / "out")
    import imageio.v3 as iio

    names = ["a.png", "b.png", "c.png", "w/00.png", "w/02.png"]
    images = {n: iio.imread(tmp_path / "out" / n) for n in names}
    assert all(im.shape == (64, 64, 3) for im in images.values())
    assert not np.array_equal(images["a.png"], images["b.png"])  # img2img changed it
    assert not np.array_equal(images["w/00.png"], images["w/02.png"])
    again = tmp_path / "again"
    render(script, again)
    assert np.array_equal(iio.imread(again / "a.png"), images["a.png"])  # same seed, same pixels


@pytest.mark.parametrize(
    ("size", "warned"),
    [
        ("64", None),
        ("32", None),
        ("128", "shapes repeat"),
        ("16", "cramped"),
        ("64x32", "stretched"),
    ],
)
def test_a_size_the_model_was_not_trained_at_is_a_warning_naming_its_native_sizes(
    tmp_path, tiny_ldm, size, warned
):
    from gencode.check import check_file

    (tmp_path / "tiny.safetensors").write_bytes(tiny_ldm.read_bytes())
    script = tmp_path / "s.gen"
    script.write_text(f'model "tiny.safetensors"\nsize {size}\ndiffuse "dunes"\n')
    result = check_file(script)
    warnings = [d.message for d in result.notes if d.severity == "warning"]
    if warned is None:
        assert warnings == []
    else:
        assert len(warnings) == 1 and warned in warnings[0]
        assert "trained at 64x64 and 32x32" in warnings[0]


def test_gencode_models_lists_native_sizes():
    import json

    from click.testing import CliRunner

    from gencode.cli.main import cli

    rows = json.loads(CliRunner().invoke(cli, ["models", "--json"]).output)
    by_name = {r["name"]: r for r in rows}
    assert by_name["scenes32"]["native_sizes"] == [32]
    assert all(r["native_sizes"] for r in rows)


def test_the_quality_gate_renders_what_a_users_script_renders(tmp_path, tiny_ldm):
    from gencode.render import render
    from gencode.train.gate_render import render_prompts

    model = tmp_path / "tiny.safetensors"
    model.write_bytes(tiny_ldm.read_bytes())
    got = render_prompts(model, ["dunes at night", "lake"], seed=5, size=64, steps=2)
    script = tmp_path / "s.gen"
    script.write_text('model "tiny.safetensors"\nsize 64\nsteps 2\ndiffuse "lake" seed 6 as x\n')
    want = render(script, write=False).array("x")
    assert got.shape == (2, 64, 64, 3)
    assert np.array_equal(got[1], want)


def test_a_decoder_only_run_keeps_every_latent_and_replaces_the_models_decoder(tmp_path, tiny_ldm):
    from gencode.models.checkpoint import load_tensors
    from gencode.train import autoencoder

    r = recipes.load(RECIPES / "tiny-scenes-ae.toml")
    opts = {**r.options, "init": str(_ae_of(tiny_ldm)), "decoder_only": True, "into": str(tiny_ldm)}
    r = r.with_overrides(
        run_dir=str(tmp_path / "dec"), output=str(tmp_path / "out.safetensors"), options=opts
    )
    out = autoencoder.train(r, resume=False, progress=False)
    before, after = load_tensors(tiny_ldm), load_tensors(out)
    assert before.keys() == after.keys()
    for k in before:
        same = torch.equal(before[k], after[k])
        assert same == (not k.startswith("autoencoder.decoder.")), k


def test_focus_draws_captions_with_a_word_more_often():
    """`focus = {moon = 3, rainbow = 2}`: an item is drawn in proportion to the product of its
    caption's focus weights, words read as the model reads them (aliases included)."""
    from gencode.train.datasets import load_data
    from gencode.train.latent_flow import flow_batch, focus_weights

    words = load_data("scenes", 64)
    captions = ["lake with a moon", "city at night", "moonlit dunes under a rainbow", "forest"]
    w = focus_weights("r.toml", captions, {"moon": 3, "rainbow": 2}, words.word_ids,
                      words.vocabulary)  # fmt: skip
    assert w.tolist() == [3.0, 1.0, 6.0, 1.0]
    both = focus_weights("r.toml", captions, {"moon dunes": 5}, words.word_ids, words.vocabulary)
    assert both.tolist() == [1.0, 1.0, 5.0, 1.0]  # only where the caption has every word
    assert focus_weights("r.toml", captions, {}, words.word_ids, words.vocabulary) is None
    with pytest.raises(
        ValueError, match="r.toml: .*focus: unicorn: each key must be vocabulary words"
    ):
        focus_weights("r.toml", captions, {"unicorn": 2}, words.word_ids, words.vocabulary)
    with pytest.raises(ValueError, match="positive weight"):
        focus_weights("r.toml", captions, {"moon": 0}, words.word_ids, words.vocabulary)

    class R:
        batch, prompt_dropout = 4000, 0.0

    pool = {"latents": torch.zeros(4, 4, 2, 2).half(), "captions": captions}
    drawn = []
    ids = lambda c: drawn.append(c) or []  # noqa: E731
    flow_batch(pool, R, ids, torch.Generator().manual_seed(0), w)
    share = [drawn.count(c) / len(drawn) for c in captions]
    assert share == pytest.approx([3 / 11, 1 / 11, 6 / 11, 1 / 11], abs=0.03)


def test_a_stage_can_refine_a_finished_model_with_its_own_autoencoder(tmp_path, tiny_ldm):
    """A refining stage may name a finished "ldm" checkpoint as its autoencoder: it encodes with
    that model's autoencoder and ships it unchanged, with what the model said of it."""
    from gencode.models.checkpoint import load_tensors, read_info
    from gencode.train import latent_flow

    r = recipes.load(RECIPES / "tiny-scenes-ldm.toml")
    opts = {**r.options, "autoencoder": str(tiny_ldm), "init": str(tiny_ldm),
            "focus": {"moon": 3.0}}  # fmt: skip
    r = r.with_overrides(run_dir=str(tmp_path / "refine"), options=opts, steps=2)
    out = latent_flow.train(r, resume=False, progress=False)
    before, after = load_tensors(tiny_ldm), load_tensors(out)
    assert before.keys() == after.keys()
    same = {k for k in before if torch.equal(before[k], after[k])}
    assert {k for k in before if k.startswith("autoencoder.")} <= same
    assert any(not k.startswith("autoencoder.") for k in set(before) - same)  # the UNet trained
    said, says = read_info(tiny_ldm).meta["autoencoder"], read_info(out).meta["autoencoder"]
    assert {k: v for k, v in said.items() if k != "sha256"} == {
        k: v for k, v in says.items() if k != "sha256"
    }
    assert "psnr" in says
