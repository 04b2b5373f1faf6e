"""Diffusion training: the tiny recipe trains, resume is bit-exact, checkpoints round-trip, recipes
fail clearly, folders of images work as datasets, and the CLI drives it all."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from gencode.data import scenes
from gencode.models.checkpoint import load_tensors, read_info
from gencode.models.diffusion import load_diffusion
from gencode.samplers import get_sampler
from gencode.samplers.schedules import alphas_cumprod
from gencode.train import diffusion
from gencode.train.datasets import load_data
from gencode.train.recipe import RecipeError, load


@pytest.fixture(autouse=True)
def _one_thread():
    """Bit-exactness is checked at a fixed thread count; one thread also shares the cores best."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny(tmp_path, name="run", **changes):
    return load("tiny-scenes").with_overrides(
        run_dir=str(tmp_path / name), output=str(tmp_path / name / "model.safetensors"), **changes
    )


def test_loss_decreases():
    r = load("tiny-scenes").with_overrides(lr_decay="none")
    data = load_data(r.dataset, r.size)
    model = diffusion.build_model(r, data)
    opt = torch.optim.AdamW(model.parameters(), lr=r.lr)
    ac = alphas_cumprod("linear")
    losses = [diffusion.train_step(model, opt, r, data, ac, s) for s in range(60)]
    assert np.mean(losses[-10:]) < 0.8 * np.mean(losses[:10])


def test_resume_is_bit_exact(tmp_path):
    straight = diffusion.train(tiny(tmp_path, "a"), progress=False)
    r = tiny(tmp_path, "b")
    diffusion.train(r, progress=False, stop_at=r.steps // 2)
    with pytest.raises(FileExistsError, match="--resume"):
        diffusion.train(r, progress=False)
    resumed = diffusion.train(r, resume=True, progress=False)
    a, b = load_tensors(straight), load_tensors(resumed)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    state_a = torch.load(tmp_path / "a" / "state.pt", weights_only=True)
    state_b = torch.load(tmp_path / "b" / "state.pt", weights_only=True)
    assert all(torch.equal(state_a["model"][k], state_b["model"][k]) for k in state_a["model"])
    assert "resuming tiny-scenes at step 20" in (tmp_path / "b" / "train.log").read_text()


def test_checkpoint_round_trips_with_config_and_meta(tmp_path):
    r = tiny(tmp_path, steps=10)
    path = diffusion.train(r, progress=False)
    info = read_info(path)
    assert (info.family, info.arch) == ("diffusion", "unet")
    assert info.config["base_channels"] == 8 and info.config["vocab_size"] == len(scenes.VOCABULARY)
    meta = info.meta
    assert meta["vocabulary"] == list(scenes.VOCABULARY)
    assert meta["size"] == 16 and meta["size_multiple"] == 2 and meta["trained_steps"] == 10
    assert meta["schedule"] == "linear" and meta["default_sampler"] in ("ddim", "euler")
    assert {"default_steps", "default_guidance", "prediction", "aliases", "fillers"} <= set(meta)
    assert meta["defaults"]["size"] == 16 and meta["defaults"]["steps"] == 10
    model = load_diffusion(path)
    state = torch.load(tmp_path / "run" / "state.pt", weights_only=True)
    assert all(torch.equal(model.net.state_dict()[k], v) for k, v in state["ema"].items())
    cond, unknown = model.encode(["dunes at night", "purple ocean", ""])
    assert cond.shape == (3, 32) and unknown == ["purple"]
    assert torch.allclose(cond[2], model.null(1)[0])
    g = torch.Generator().manual_seed(0)
    sigmas = model.sigmas(4)
    x = torch.randn(3, 3, 16, 16, generator=g) * sigmas[0]
    extra = {"cond": cond, "uncond": model.null(3)}
    with torch.inference_mode():
        x = get_sampler("ddim")(model.denoiser(2.0), x, sigmas, extra_args=extra, generator=g)
    assert model.to_images(x).shape == (3, 16, 16, 3)


@pytest.mark.parametrize(
    "text, key",
    [
        ('lr = "fast"', "lr"),
        ("stepz = 10", "stepz"),
        ("steps = -1", "steps"),
        ("prompt_dropout = 1.5", "prompt_dropout"),
    ],
)
def test_bad_recipe_names_the_key(tmp_path, text, key):
    base = 'name = "x"\nfamily = "diffusion"\narch = "unet"\ndataset = "scenes"\n'
    path = tmp_path / "bad.toml"
    path.write_text(base + text + "\n")
    with pytest.raises(RecipeError) as e:
        load(path)
    assert str(path) in str(e.value) and f"'{key}'" in str(e.value)


def test_recipe_errors_missing_key_and_bad_toml(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text('name = "x"\nfamily = "diffusion"\narch = "unet"\n')
    with pytest.raises(RecipeError, match="'dataset'"):
        load(path)
    path.write_text("name = \n")
    with pytest.raises(RecipeError, match="TOML"):
        load(path)
    with pytest.raises(RecipeError, match="did you mean 'steps'"):
        path.write_text(
            'name = "x"\nfamily = "diffusion"\narch = "unet"\ndataset = "s"\nstep = 1\n'
        )
        load(path)
    with pytest.raises(RecipeError, match="built-in"):
        load("no-such-recipe")


def test_shipped_recipe_loads():
    r = load("scenes-pixel32")
    assert r.family == "diffusion" and r.dataset == "scenes" and r.size == 32
    assert r.output_path == Path("runs/scenes-pixel32/scenes-pixel32.safetensors")
    assert diffusion.options(r)["default_guidance"] > 1


@pytest.mark.parametrize(
    "name",
    ["scenes", "scenes-ae", "scenes-refine", "scenes-refine2", "scenes-decoder", "scenes-refine3"]
    + ["scenes-pixel32", "faces-gan", "faces-vae"]
    + ["faces-judge64", "faces-gan64", "faces-gan64-codes", "faces-vae64"],
)
def test_shipped_recipes_write_to_their_run_folder_not_the_package(name):
    from gencode.models.catalog import WEIGHTS_DIR

    r = load(name)
    assert not r.output_path.resolve().is_relative_to(WEIGHTS_DIR.resolve())


def test_each_shipped_checkpoint_is_installed_by_one_recipe():
    """`--install` from a recipe that is not the shipped model's last stage would replace it."""
    from gencode.models.catalog import WEIGHTS_DIR

    recipes = Path(__file__).parent.parent / "gencode" / "recipes"
    installs: dict[str, list[str]] = {}
    for path in sorted(recipes.glob("*.toml")):
        r = load(path.stem)
        if r.install:
            installs.setdefault(r.install, []).append(r.name)
    assert {k: v for k, v in installs.items() if len(v) > 1} == {}
    assert sorted(installs) == sorted(p.name for p in WEIGHTS_DIR.glob("*.safetensors"))


def test_a_recipe_that_writes_into_the_package_is_refused(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text(
        'name = "x"\nfamily = "diffusion"\narch = "unet"\ndataset = "scenes"\n'
        'output = "gencode/weights/scenes.safetensors"\n'
    )
    import os

    cwd = os.getcwd()
    os.chdir(Path(__file__).parent.parent)
    try:
        with pytest.raises(RecipeError, match="--install"):
            load(path)
    finally:
        os.chdir(cwd)


def test_install_copies_a_finished_checkpoint_into_the_weights_folder(tmp_path, monkeypatch):
    from gencode.models import catalog
    from gencode.train.recipe import install

    out = tmp_path / "run" / "x.safetensors"
    from runtime_support import save_unet

    out.parent.mkdir()
    save_unet(out)
    monkeypatch.setattr(catalog, "WEIGHTS_DIR", tmp_path / "weights")
    (tmp_path / "weights").mkdir()
    r = load("scenes-pixel32").with_overrides(output=str(out), install="x.safetensors")
    assert install(r).read_bytes() == out.read_bytes()
    with pytest.raises(RecipeError, match="install"):
        install(r.with_overrides(install="../evil.safetensors"))


def test_folder_of_images_is_a_dataset(tmp_path):
    from PIL import Image

    folder = tmp_path / "mine"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i, name in enumerate(["red_square", "blue-circle", "other"]):
        Image.fromarray(rng.integers(0, 255, (20 + i, 30, 3), dtype=np.uint8)).save(
            folder / f"{name}.png"
        )
    (folder / "captions.txt").write_text("other.png: a green thing\n")
    data = load_data(str(folder), 16)
    assert data.images.shape == (3, 16, 16, 3)
    assert data.vocabulary == ["blue", "circle", "green", "red", "square", "thing"]
    r = tiny(tmp_path, dataset=str(folder), steps=4)
    info = read_info(diffusion.train(r, progress=False))
    assert info.meta["vocabulary"] == data.vocabulary and info.config["vocab_size"] == 6
    with pytest.raises(ValueError, match="neither"):
        load_data(str(tmp_path / "missing"), 16)


def test_cli_train(tmp_path):
    from gencode.cli.main import cli

    runner = CliRunner()
    assert runner.invoke(cli, ["train", "--help"]).exit_code == 0
    out = tmp_path / "m.safetensors"
    args = ["train", "tiny-scenes", "--steps", "3", "--run-dir", str(tmp_path / "r"), "--output"]
    result = runner.invoke(cli, [*args, str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert read_info(out).meta["trained_steps"] == 3
    result = runner.invoke(cli, [*args, str(out), "--quiet"])  # the run dir exists: needs --resume
    assert result.exit_code != 0 and "--resume" in result.output
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'name = "x"\nfamily = "diffusion"\narch = "unet"\ndataset = "scenes"\nlr = "x"\n'
    )
    result = runner.invoke(cli, ["train", str(bad)])
    assert result.exit_code != 0 and "'lr'" in result.output


def test_a_pickle_checkpoint_is_refused_with_a_conversion_anyone_can_run(tmp_path):
    from gencode.models.checkpoint import CheckpointError, read_header

    (tmp_path / "old.ckpt").write_bytes(b"\x80\x04 not read")
    with pytest.raises(CheckpointError) as err:
        read_header(tmp_path / "old.ckpt")
    message = str(err.value)
    assert "allow_pickle" not in message  # no script or command line can pass it
    assert "save_file(torch.load('old.ckpt', weights_only=True), 'old.safetensors')" in message
