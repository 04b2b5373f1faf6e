"""Training the faces models and judges from tiny recipes; the shipped faces models' edits."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest
import torch

from gencode.models import classifier as C
from gencode.models import gan
from gencode.models import vae as V
from gencode.models.catalog import WEIGHTS_DIR
from gencode.models.checkpoint import load_tensors, read_info
from gencode.models.directions import load_directions
from gencode.train import classifier as train_classifier
from gencode.train import gan as train_gan
from gencode.train import recipe as recipes
from gencode.train import resumable
from gencode.train import vae as train_vae
from gencode.train.faces_report import (
    FRESH_SEED,
    GATE_FACES,
    edit_success,
    shipped_renderers,
    side_effects,
)

RECIPES = Path(__file__).parent / "recipes"
TRAINERS = {"classifier": train_classifier, "gan": train_gan, "vae": train_vae}


pytestmark = pytest.mark.usefixtures("one_thread_module")


def tiny(name: str, where: Path, **options: object) -> recipes.Recipe:
    """A tiny test recipe writing under `where`, with some options of its family table changed."""
    r = recipes.load(RECIPES / f"{name}.toml")
    r = r.with_overrides(run_dir=str(where / "run"), output=str(where / f"{name}.safetensors"))
    return dataclasses.replace(r, options={**r.options, **options})


def logged(r: recipes.Recipe) -> list[dict]:
    """The loss lines of a run's log."""
    lines = (r.run_path / "log.jsonl").read_text().splitlines()
    return [rec for rec in map(json.loads, lines) if "step" in rec]


@pytest.fixture(scope="module")
def judge(tmp_path_factory: pytest.TempPathFactory) -> Path:
    r = tiny("tiny-faces-judge", tmp_path_factory.mktemp("judge"))
    return train_classifier.train(r, resume=False, progress=False)


def test_judge_trains(judge: Path) -> None:
    info = read_info(judge)
    assert info.family == "classifier" and set(info.config["heads"]) >= {"smile", "hair"}
    assert 0.0 <= info.meta["validation"]["glasses"] <= 1.0
    log = logged(tiny("tiny-faces-judge", judge.parent))
    assert log[-1]["loss"] < log[0]["loss"]
    assert C.load_classifier(judge).cfg.heads == info.config["heads"]


def test_scenes_judge_trains(tmp_path: Path) -> None:
    pytest.importorskip("gencode.data.scenes")
    r = tiny("tiny-scenes-judge", tmp_path)
    info = read_info(train_classifier.train(r, resume=False, progress=False))
    assert set(info.config["heads"]) == {"subject", "time", "modifiers"}
    assert info.config["stem"] == 2 and info.meta["validation"]["render"] == 48
    assert 0.0 <= info.meta["validation"]["modifiers/moon"] <= 1.0
    thresholds = info.meta["thresholds"]  # lowered (never raised) so small modifiers are seen
    assert set(thresholds) <= {
        f"modifiers/{m}" for m in info.config["heads"]["modifiers"]["values"]
    }
    assert all(t <= 0 for t in thresholds.values())
    assert logged(r)[-1]["loss"] < logged(r)[0]["loss"]


def test_gan_trains_with_directions(judge: Path, tmp_path: Path) -> None:
    r = tiny("tiny-faces-gan", tmp_path, judge=str(judge))
    path = train_gan.train(r, resume=False, progress=False)
    info = read_info(path)
    assert (info.family, info.arch) == ("gan", "dcgan")
    assert info.meta["z_dim"] == 16 and info.meta["latent_shape"] == [16]
    assert info.meta["native_sizes"] == [32]  # what `gencode models` lists
    assert info.config == gan.config_dict(gan.make_config("dcgan", info.config))
    dirs = load_directions(path)
    assert set(dirs) == set(info.meta["attributes"]) and dirs
    assert all(d.shape == (16,) for d in dirs.values())
    assert logged(r)[-1]["d"] < math.log(4)  # the critic beats chance: the players are learning
    x = gan.generate(gan.load_generator(path), torch.zeros(2, 16))
    assert x.shape == (2, 3, 32, 32)


def test_a_conditioned_gan_trains_its_critic_on_the_labels(judge: Path, tmp_path: Path) -> None:
    """`conditioned = true`: the critic sees each face's labels (the true ones for training faces,
    the ones z carries for generated faces), and the checkpoint says which coordinates carry what;
    the generator, and so the runtime, are those of an unconditional GAN."""
    r = tiny("tiny-faces-gan", tmp_path, judge=str(judge), conditioned=True)
    path = train_gan.train(r, resume=False, progress=False)
    info = read_info(path)
    assert info.meta["codes"]["glasses"] == [6] and info.meta["codes"]["hair"] == [1, 2, 3, 4]
    assert "codes" not in info.config  # the generator is an unconditional GAN's
    critic = resumable.load_state(r.run_path)["D"]
    assert critic["embed.weight"].shape == (critic["head.weight"].shape[1] * 16, 8)
    log = logged(r)
    assert log[-1]["d"] < math.log(4)
    assert log[-1]["misread"] < log[0]["misread"]  # the critic learns to read real faces' labels
    assert gan.load_generator(path)(torch.zeros(2, 16)).shape == (2, 3, 32, 32)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"arch": "mlp-gan"}, "needs a dcgan on a procedural dataset"),
        ({"model": {"latent_dim": 8, "width": 8}}, "latent_dim 8 cannot carry 8 codes"),
    ],
)
def test_a_gan_that_cannot_be_conditioned_is_refused(
    change: dict, says: str, tmp_path: Path
) -> None:
    r = dataclasses.replace(tiny("tiny-faces-gan", tmp_path, conditioned=True), **change)
    with pytest.raises(ValueError, match=says):
        train_gan.train(r, resume=False, progress=False)


def test_refit_recomputes_the_edits_without_training(judge: Path, tmp_path: Path) -> None:
    r = tiny("tiny-faces-gan", tmp_path / "a", judge=str(judge))
    trained = train_gan.train(r, resume=False, progress=False)
    again = dataclasses.replace(r, output=str(tmp_path / "refit.safetensors"))
    before = load_tensors(trained)
    for key in [k for k in before if not k.startswith("generator.")]:
        del before[key]  # a checkpoint of older code, edits and all, is finished again
    stale = tmp_path / "stale.safetensors"
    info = read_info(trained)
    from gencode.models.checkpoint import save_checkpoint

    save_checkpoint(stale, before, "gan", info.arch, info.config, {})
    got = load_tensors(train_gan.refit(again, stale))
    want = load_tensors(trained)
    assert got.keys() == want.keys() and any(k.startswith("reach.") for k in got)
    assert all(torch.equal(got[k], want[k]) for k in got)  # exactly as training finishes
    # `disentangle = STEPS` refines the yes/no and level edits through the generator: each is
    # kept only where it did better, and says so; hair colours and reaches stay as fitted.
    refined = dataclasses.replace(again, options={**again.options, "disentangle": 2})
    out = train_gan.refit(refined, stale)
    report = read_info(out).meta["directions"]["refined"]
    fitted = load_directions(trained)
    assert set(report) == {n for n in fitted if fitted.category_of(n) is None}
    tensors = load_tensors(out)
    for name, r in report.items():
        same = torch.equal(tensors[f"direction.{name}"], want[f"direction.{name}"])
        assert same != r["refined"], (name, r)
    assert all(torch.equal(tensors[k], want[k]) for k in want if not k.startswith("direction."))
    other = dataclasses.replace(again, model={**again.model, "width": 16})
    with pytest.raises(ValueError, match="differs from recipe"):
        train_gan.refit(other, stale)


def test_a_vae_with_a_judge_edits_what_the_judge_sees_in_its_samples(tmp_path: Path) -> None:
    if not JUDGE.exists():
        pytest.skip("the faces judge is not shipped yet")
    judge = JUDGE  # a real judge: a tiny one sees the same in every blurry sample
    r = tiny("tiny-faces-vae", tmp_path)
    plain = train_vae.train(r, resume=False, progress=False)
    assert read_info(plain).meta["directions"]["method"].startswith("mean-difference")
    judged = dataclasses.replace(r, options={**r.options, "judge": str(judge)})
    refit = train_vae.refit(
        dataclasses.replace(judged, output=str(tmp_path / "j.safetensors")), plain
    )
    info = read_info(refit)
    assert info.meta["directions"]["method"].startswith("interfacegan")
    assert info.meta["directions"]["judge_sha256"]
    edits = load_directions(refit)
    assert edits and set(edits.reach) == set(edits)


def test_refit_from_the_command_line(judge: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from gencode.cli.main import cli

    judge_recipe = str(RECIPES / "tiny-faces-judge.toml")
    out = CliRunner().invoke(cli, ["train", judge_recipe, "--refit-from", str(judge)])
    assert out.exit_code != 0 and "a classifier recipe has no edits to refit" in out.output
    gan_recipe = str(RECIPES / "tiny-faces-gan.toml")
    out = CliRunner().invoke(cli, ["train", gan_recipe, "--refit-from", str(judge)])
    assert out.exit_code != 0 and "a classifier checkpoint, not a gan one" in out.output


def test_a_gan_grows_from_a_smaller_one(judge: Path, tmp_path: Path) -> None:
    first = tiny("tiny-faces-gan", tmp_path / "a", judge=str(judge))
    small = train_gan.train(first, resume=False, progress=False)
    r = tiny("tiny-faces-gan", tmp_path / "b", judge=str(judge), init=str(small))
    r = dataclasses.replace(r, size=64, model={**r.model, "width": 4})  # half the width
    G, _ = gan.build("dcgan", gan.config_dict(gan.make_config("dcgan", {**r.model, "size": 64})))
    train_gan.grow_from(G, r, str(small))
    old = gan.load_generator(small).state_dict()
    new = G.state_dict()
    shared = [k for k in new if k in old and new[k].shape == old[k].shape]
    assert {"project.0.weight", "blocks.0.weight", "blocks.3.weight"} <= set(shared)
    assert all(torch.equal(new[k], old[k]) for k in shared)
    assert G(torch.zeros(2, 16)).shape == (2, 3, 64, 64)
    with pytest.raises(ValueError, match="run its recipe first"):
        train_gan.grow_from(G, r, str(tmp_path / "missing.safetensors"))


def test_a_vae_grows_from_a_smaller_one(tmp_path: Path) -> None:
    first = tiny("tiny-faces-vae", tmp_path / "a").with_overrides(steps=8)
    first = dataclasses.replace(first, model={**first.model, "width": 16})
    small = train_vae.train(first, resume=False, progress=False)
    r = dataclasses.replace(first, size=64, model={**first.model, "width": 8})  # half the width
    big = V.VAE(V.make_config({**r.model, "size": 64}))
    train_vae.grow_from(big, r, str(small))
    old, new = V.load_vae(small).state_dict(), big.state_dict()
    # the levels below 32x32 and the latent layers come from the small VAE, whole layers only
    assert torch.equal(new["to_stats.weight"], old["to_stats.weight"])
    assert torch.equal(new["decoder.0.weight"], old["decoder.0.weight"])
    assert torch.equal(new["encoder.11.weight"], old["encoder.8.weight"])  # its last level
    assert not torch.equal(new["latent_scale"], old["latent_scale"])  # the prior is refitted
    assert new["encoder.5.bias"].shape == old["encoder.2.bias"].shape
    assert not torch.equal(new["encoder.5.bias"], old["encoder.2.bias"])  # its weight differs
    x = torch.zeros(2, 3, 64, 64)
    assert big(x)[0].shape == (2, 3, 64, 64)


def test_vae_trains_with_directions(tmp_path: Path) -> None:
    r = tiny("tiny-faces-vae", tmp_path)
    path = train_vae.train(r, resume=False, progress=False)
    info = read_info(path)
    assert (info.family, info.meta["z_dim"]) == ("vae", 8)
    log = logged(r)
    assert log[-1]["mse"] < 0.7 * log[0]["mse"]
    assert {"smile", "glasses", "skin", "eye_size", "hair_blonde"} <= set(info.meta["attributes"])
    assert V.load_vae(path).cfg == V.make_config(info.config)


class Interrupt(Exception):
    """Stands in for a kill in the middle of a run."""


@pytest.mark.parametrize("name", ["tiny-faces-gan", "tiny-faces-vae", "tiny-faces-judge"])
def test_resume_is_exact(name: str, judge: Path, tmp_path: Path, monkeypatch) -> None:
    straight = tiny(name, tmp_path / "a", judge=str(judge))
    family = TRAINERS[straight.family]
    expected = load_tensors(family.train(straight, resume=False, progress=False))
    cut = tiny(name, tmp_path / "b", judge=str(judge))
    calls = {"n": 0}
    real = resumable.batch_indices

    def dying(*args: object, **kwargs: object) -> torch.Tensor:
        calls["n"] += 1
        if calls["n"] == 19:  # between the states saved at steps 16 and 24
            raise Interrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(resumable, "batch_indices", dying)
    with pytest.raises(Interrupt):
        family.train(cut, resume=False, progress=False)
    monkeypatch.setattr(resumable, "batch_indices", real)
    got = load_tensors(family.train(cut, resume=True, progress=False))
    assert got.keys() == expected.keys()
    assert all(torch.equal(got[k], expected[k]) for k in got)


def test_resume_refuses_another_recipe(tmp_path: Path) -> None:
    r = tiny("tiny-faces-vae", tmp_path).with_overrides(steps=8)
    train_vae.train(r, resume=False, progress=False)
    other = dataclasses.replace(r, seed=r.seed + 1)
    with pytest.raises(ValueError, match="different recipe"):
        train_vae.train(other, resume=True, progress=False)


SHIPPED = ("faces-gan", "faces-vae")
JUDGE = WEIGHTS_DIR / "faces-judge.safetensors"


def _shipped(name: str):
    """(render z -> images, directions, latent size) of a shipped faces model."""
    models = shipped_renderers()
    if name not in models or not JUDGE.exists():
        pytest.skip(f"{name} or the faces judge is not shipped yet")
    return models[name]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_edits_move_the_judge(name: str) -> None:
    render, dirs, dim = _shipped(name)
    judge = C.load_classifier(JUDGE)
    z = torch.randn(64, dim, generator=torch.Generator().manual_seed(123))
    rates = edit_success(render, judge, dirs, z, amount=1.0, toggle=True)
    assert {"smile", "glasses", "skin", "eye_size", "hair_blonde", "hair_red"} <= set(rates)
    low = {k: r for k, r in rates.items() if r < 0.9}  # the target, every attribute
    assert not low, (name, rates)


# The gate: an edit leaves every other attribute (<= 10% of faces changed), read on the
# gate's 512 faces.
SIDE_LIMIT = 0.1


def test_the_shipped_gans_edits_move_its_own_codes() -> None:
    """The shipped GAN carries its attributes in z (gan_codes): the edits InterFaceGAN fits from
    the judge's readings, knowing nothing of the codes, lie along each attribute's coordinates."""
    path = WEIGHTS_DIR / "faces-gan.safetensors"
    codes = read_info(path).meta["codes"]
    for name, d in load_directions(path).items():
        own = codes["hair" if name.startswith("hair_") else name]
        assert d[own].norm() / d.norm() > 0.85, name


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_edits_leave_the_other_attributes(name: str) -> None:
    render, dirs, dim = _shipped(name)
    judge = C.load_classifier(JUDGE)
    z = torch.randn(
        GATE_FACES, dim, generator=torch.Generator().manual_seed(FRESH_SEED)
    )  # the gate's
    side = side_effects(render, judge, dirs, z, amount=1.0)
    assert ("smile", "glasses") in side and ("glasses", "skin") in side
    over = {pair: rate for pair, rate in side.items() if rate > SIDE_LIMIT}
    assert not over, (name, over)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_interpolation_is_smooth(name: str) -> None:
    render, _, dim = _shipped(name)
    g = torch.Generator().manual_seed(7)
    a, b = torch.randn(2, dim, generator=g)
    t = torch.linspace(0, 1, 33)[:, None]
    omega = torch.arccos((a @ b) / (a.norm() * b.norm()))
    z = (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)  # slerp
    frames = render(z)  # (33, 3, H, W)
    steps = (frames[1:] - frames[:-1]).flatten(1).norm(dim=1)  # (32,)
    assert steps.max() < 4 * steps.mean()  # no jumps: change spreads over the walk
    assert steps.max() < 0.35 * (frames[-1] - frames[0]).norm()


@pytest.mark.parametrize("model", ["faces", "faces_vae"])
def test_edit_in_a_script_moves_hair_to_the_asked_colour(model: str) -> None:
    """`edit z hair_brown 1` through the runtime: brown lies between black and red, so the edit
    must move toward brown's class mean (not add one direction) for the faces to come out brown."""
    from gencode.render import render

    if not JUDGE.exists():
        pytest.skip("the faces judge is not shipped yet")
    script = f"""model {model}
a = noise seed 1
b = noise seed 2
w = interpolate latent a b 24
sample from (edit w hair_brown 1) as brown
sample from (edit w hair_red 1 smile 1) as red
"""
    result = render(script, write=False, device="cpu")
    judge = C.load_classifier(JUDGE)
    for name, want in (("brown", "hair_brown"), ("red", "hair_red")):
        faces = result.values[name] * 2 - 1  # (24, 3, H, W) in [-1, 1], as the judge reads
        has = C.binary_labels(judge.cfg.heads, C.predict(judge, faces), logits=True)
        assert has[want].float().mean() >= 0.9, (name, has[want].float().mean())


def test_resume_ignores_where_the_result_goes_and_how_edits_are_fitted(tmp_path: Path) -> None:
    """`into` says where a stage writes its result, and the judge, its samples and `disentangle`
    how its edits are fitted after the last step, not what it trains: a run changed in them
    resumes (and finishes again); any other option still refuses."""
    r = tiny("tiny-faces-vae", tmp_path).with_overrides(steps=8)
    train_vae.train(r, resume=False, progress=False)
    finish = {"judge": "other.safetensors", "direction_samples": 9, "disentangle": 3}
    refitted = dataclasses.replace(r, options={**r.options, **finish})
    assert resumable.fingerprint(refitted) == resumable.fingerprint(r)
    moved = dataclasses.replace(r, options={**r.options, "into": "elsewhere.safetensors"})
    assert resumable.fingerprint(moved) == resumable.fingerprint(r)
    state = resumable.load_state(r.run_path)
    assert state is not None
    state["fingerprint"] = json.dumps(
        {**resumable.fingerprint(moved), "options": moved.options}, sort_keys=True
    )
    assert resumable._restore({}, state, resumable.fingerprint(r)) == 8  # an old-style state
    with pytest.raises(ValueError, match="different recipe"):
        other = dataclasses.replace(r, options={**r.options, "pool": 7})
        resumable._restore({}, state, resumable.fingerprint(other))
