"""The `scenes` dataset: determinism, shapes, measurably different subjects, captions, tokenizer."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from gencode.data import DATASETS, scenes
from gencode.data.words import canonical, split_words


def _features(images: np.ndarray) -> np.ndarray:
    """8x8 mean colours, (N, 192): enough to tell the subjects apart."""
    x = images.astype(np.float32) / 255
    n, h, w, _ = x.shape
    return x.reshape(n, 8, h // 8, 8, w // 8, 3).mean((2, 4)).reshape(n, -1)


def test_same_seed_same_images_and_labels():
    a, la = scenes.generate(24, seed=7)
    b, lb = scenes.generate(24, seed=7)
    assert np.array_equal(a, b) and la == lb
    c, _ = scenes.generate(24, seed=8)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("size", [16, 32, 48])
def test_shape_and_dtype(size):
    images, labels = scenes.generate(10, seed=0, size=size)
    assert images.shape == (10, size, size, 3) and images.dtype == np.uint8
    assert len(labels) == 10
    for lb in labels:
        assert set(lb) == {"subject", "modifier", "caption"}
        assert lb["subject"] in scenes.SUBJECTS and lb["modifier"] in scenes.MODIFIERS


def test_every_subject_and_modifier_appears():
    _, labels = scenes.generate(400, seed=1)
    assert {lb["subject"] for lb in labels} == set(scenes.SUBJECTS)
    assert {lb["modifier"] for lb in labels} == set(scenes.MODIFIERS)
    assert len(scenes.SUBJECTS) >= 8


def test_subjects_differ_measurably():
    """A nearest-centroid classifier on 8x8 colours, fitted on one seed, tells subjects apart on another."""
    train, lt = scenes.generate(900, seed=1)
    test, ls = scenes.generate(300, seed=2)
    keys = sorted({(lb["subject"], lb["modifier"]) for lb in lt})
    ft = _features(train)
    centroids = np.stack(
        [
            ft[[i for i, lb in enumerate(lt) if (lb["subject"], lb["modifier"]) == k]].mean(0)
            for k in keys
        ]
    )
    d = ((_features(test)[:, None] - centroids[None]) ** 2).sum(-1)  # (N, K)
    pred = [keys[i] for i in d.argmin(1)]
    subject_acc = np.mean([p[0] == lb["subject"] for p, lb in zip(pred, ls, strict=True)])
    modifier_acc = np.mean([p[1] == lb["modifier"] for p, lb in zip(pred, ls, strict=True)])
    assert subject_acc > 0.9 and modifier_acc > 0.9


def test_time_of_day_changes_the_light():
    day = scenes.render(["ocean"] * 16, ["day"] * 16, seed=0).mean()
    night = scenes.render(["ocean"] * 16, ["night"] * 16, seed=0).mean()
    dusk = scenes.render(["ocean"] * 16, ["dusk"] * 16, seed=0).astype(float)
    assert day > 2 * night
    assert dusk[..., 0].mean() > dusk[..., 2].mean()  # dusk is warm


def test_images_vary_within_a_subject():
    images = scenes.render(["dunes"] * 8, ["day"] * 8, seed=3).astype(float)
    assert np.abs(images[1:] - images[:1]).mean() > 5


def test_captions_vary_and_say_only_the_truth():
    _, labels = scenes.generate(500, seed=4)
    captions = {lb["caption"] for lb in labels}
    assert len(captions) > 60
    for lb in labels:
        known, unknown = scenes.tokenize(lb["caption"])
        assert unknown == [], lb["caption"]
        assert set(known) <= {lb["subject"], lb["modifier"]}, lb["caption"]
    has = {tuple(sorted(scenes.tokenize(lb["caption"])[0])) for lb in labels}
    assert any(len(k) == 1 and k[0] in scenes.SUBJECTS for k in has)  # subject only
    assert any(len(k) == 1 and k[0] in scenes.MODIFIERS for k in has)  # modifier only
    assert any(len(k) == 2 for k in has)  # both


@pytest.mark.parametrize(
    "prompt, known, unknown",
    [
        ("Dunes at Night!", ["dunes", "night"], []),
        ("a forest, at dawn.", ["forest", "dawn"], []),
        ("a mountain", ["mountains"], []),
        ("CITIES and lakes", ["city", "lake"], []),
        ("oceans at sunset", ["ocean", "dusk"], []),
        ("purple dunes", ["dunes"], ["purple"]),
        ("the sky at night", ["night"], []),
        ("", [], []),
    ],
)
def test_tokenize(prompt, known, unknown):
    assert scenes.tokenize(prompt) == (known, unknown)


def test_vocabulary_is_subjects_and_modifiers():
    assert scenes.VOCABULARY == scenes.SUBJECTS + scenes.MODIFIERS
    assert all(canonical(a, scenes.VOCABULARY, scenes.ALIASES) for a in scenes.ALIASES)
    assert split_words("Snow, with the stars!") == ["snow", "stars"]


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_data_preview_every_dataset(tmp_path, name):
    from PIL import Image

    from gencode.cli.main import cli

    out = tmp_path / f"{name}.png"
    result = CliRunner().invoke(cli, ["data", "preview", name, "-o", str(out), "--n", "8"])
    assert result.exit_code == 0, result.output
    assert Image.open(out).size[0] > 100
    plain = tmp_path / "plain.png"
    result = CliRunner().invoke(cli, ["data", "preview", name, "-o", str(plain), "--plain"])
    assert result.exit_code == 0, result.output


def test_data_preview_unknown_dataset(tmp_path):
    from gencode.cli.main import cli

    result = CliRunner().invoke(cli, ["data", "preview", "nope", "-o", str(tmp_path / "x.png")])
    assert result.exit_code != 0 and "known" in result.output


@pytest.mark.slow
def test_fast_enough():
    import time

    t = time.perf_counter()
    scenes.generate(2000, seed=0)
    assert 2000 / (time.perf_counter() - t) > 1000  # ~3-4k/s on one idle core
