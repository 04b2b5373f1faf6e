"""The `scenes` dataset: determinism, shapes, labels, measurably different subjects, times and
modifiers, captions that tokenize word by word, and the preview command."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from gencode.data import DATASETS, scenes
from gencode.data.words import STOPWORDS, canonical, split_words


def _features(images: np.ndarray) -> np.ndarray:
    """8x8 mean colours, (N, 192): enough to tell the subjects apart."""
    x = images.astype(np.float32) / 255
    n, h, w, _ = x.shape
    return x.reshape(n, 8, h // 8, 8, w // 8, 3).mean((2, 4)).reshape(n, -1)


def _plain_grid(reps: int) -> tuple[list[str], list[str]]:
    """Every drawable (subject, time) pair, `reps` times each."""
    pairs = [(s, t) for s in scenes.SUBJECTS for t in scenes.TIMES if scenes.allowed(s, t, ())]
    return [s for s, _ in pairs] * reps, [t for _, t in pairs] * reps


def _nearest_centroid(train_x, train_y, test_x) -> list:
    keys = sorted(set(train_y))
    centroids = np.stack([train_x[[y == k for y in train_y]].mean(0) for k in keys])
    d = ((test_x[:, None] - centroids[None]) ** 2).sum(-1)  # (N, K)
    return [keys[i] for i in d.argmin(1)]


def test_same_seed_same_images_and_labels():
    a, la = scenes.generate(24, seed=7, size=32)
    b, lb = scenes.generate(24, seed=7, size=32)
    assert np.array_equal(a, b) and la == lb
    c, _ = scenes.generate(24, seed=8, size=32)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("size", [16, 32, 48, 128])
def test_shape_and_dtype(size):
    images, labels = scenes.generate(6, seed=0, size=size)
    assert images.shape == (6, size, size, 3) and images.dtype == np.uint8
    assert len(labels) == 6


def test_labels_are_drawable_and_cover_everything():
    _, labels = scenes.generate(600, seed=1, size=8)
    for lb in labels:
        assert set(lb) == {"subject", "time", "modifiers", "caption"}
        mods = lb["modifiers"]
        assert isinstance(mods, tuple) and list(mods) == sorted(set(mods))
        assert len(mods) <= scenes.MAX_MODIFIERS
        assert scenes.allowed(lb["subject"], lb["time"], mods), lb
    assert {lb["subject"] for lb in labels} == set(scenes.SUBJECTS)
    assert {lb["time"] for lb in labels} == set(scenes.TIMES)
    assert {m for lb in labels for m in lb["modifiers"]} == set(scenes.MODIFIERS)
    assert {len(lb["modifiers"]) for lb in labels} == {0, 1, 2}
    assert len(scenes.SUBJECTS) >= 12 and len(scenes.TIMES) == 4 and len(scenes.MODIFIERS) >= 6


def test_what_cannot_be_seen_is_never_drawn():
    assert not scenes.allowed("stars", "day", ())
    assert not scenes.allowed("lake", "day", ("aurora",))
    assert not scenes.allowed("lake", "night", ("rainbow",))
    assert not scenes.allowed("lake", "night", ("storm", "moon"))
    assert scenes.allowed("lake", "dawn", ("mist",)) and scenes.allowed("city", "night", ("snow",))


def test_subjects_and_times_differ_measurably():
    """A nearest-centroid classifier on 8x8 colours, fitted on one seed, reads another seed."""
    subjects, times = _plain_grid(12)
    train = _features(scenes.render(subjects, times, seed=1, size=32))
    test = _features(scenes.render(subjects, times, seed=2, size=32))
    pairs = list(zip(subjects, times, strict=True))
    pred = _nearest_centroid(train, pairs, test)
    subject_acc = np.mean([p[0] == s for p, s in zip(pred, subjects, strict=True)])
    time_acc = np.mean([p[1] == t for p, t in zip(pred, times, strict=True)])
    assert subject_acc > 0.85 and time_acc > 0.9, (subject_acc, time_acc)


def test_each_modifier_changes_the_image_in_its_own_way():
    """The same seed with and without a modifier keeps its layout; the change (with - without) is
    clear, and a nearest-centroid classifier on changes fitted on one seed names the modifier on
    another well above chance."""
    subjects, times = _plain_grid(2)
    changes: dict[int, tuple[list, list]] = {1: ([], []), 2: ([], [])}
    for seed in (1, 2):
        plain = scenes.render(subjects, times, seed=seed, size=32).astype(np.float32)
        for m in scenes.MODIFIERS:
            ok = [
                i
                for i, (s, t) in enumerate(zip(subjects, times, strict=True))
                if scenes.allowed(s, t, (m,))
            ]
            sub = [subjects[i] for i in ok]
            with_m = scenes.render(sub, [times[i] for i in ok], [(m,)] * len(ok), seed, 32)
            diff = with_m.astype(np.float32) - plain[ok]
            assert np.abs(diff).mean() > 4, m  # a clear change on average
            assert (np.abs(diff).mean((1, 2, 3)) > 0.25).all(), (m, sub)  # and on every image
            changes[seed][0].extend(_features(diff / 2 + 127.5))
            changes[seed][1].extend([m] * len(ok))
    pred = _nearest_centroid(np.array(changes[1][0]), changes[1][1], np.array(changes[2][0]))
    acc = np.mean([p == m for p, m in zip(pred, changes[2][1], strict=True)])
    assert acc > 0.45, acc  # chance is 1/7; a moon and a rainbow are small at 32 px (0.56 measured)


def test_modifiers_look_like_themselves():
    n = 16
    subjects = ["forest"] * n

    def draw(time: str, mods: tuple[str, ...] = ()) -> np.ndarray:
        return scenes.render(subjects, [time] * n, [mods] * n, seed=3, size=32).astype(float)

    day, night = draw("day"), draw("night")
    assert day.mean() > 2 * night.mean()
    assert draw("dusk")[..., 0].mean() > draw("dusk")[..., 2].mean()  # dusk is warm
    assert draw("day", ("storm",)).mean() < 0.8 * day.mean()  # a storm darkens
    assert draw("day", ("snow",))[:, 20:].mean() > day[:, 20:].mean() + 30  # snow lies white
    autumn = draw("day", ("autumn",))
    assert (autumn[..., 0] - autumn[..., 1]).mean() > (day[..., 0] - day[..., 1]).mean() + 10
    aurora = draw("night", ("aurora",))
    assert aurora[:, :12, :, 1].mean() > night[:, :12, :, 1].mean() + 8  # green in the sky
    mist = draw("day", ("mist",))
    assert mist.std(axis=(1, 2)).mean() < day.std(axis=(1, 2)).mean()  # mist flattens contrast


def test_images_vary_within_a_subject():
    images = scenes.render(["dunes"] * 8, ["day"] * 8, seed=3, size=32).astype(float)
    assert np.abs(images[1:] - images[:1]).mean() > 5


def test_captions_vary_and_say_only_the_truth():
    _, labels = scenes.generate(500, seed=4, size=8)
    captions = {lb["caption"] for lb in labels}
    assert len(captions) > 300
    said: set[str] = set()
    for lb in labels:
        known, unknown = scenes.tokenize(lb["caption"])
        assert unknown == [], lb["caption"]
        truth = {lb["subject"], lb["time"], *lb["modifiers"]}
        assert known and set(known) <= truth, lb["caption"]
        said |= set(known)
    assert said == set(scenes.VOCABULARY)


@pytest.mark.parametrize(
    "prompt, known, unknown",
    [
        ("lake with mist at dawn", ["lake", "mist", "dawn"], []),
        ("city in the snow at night", ["city", "snow", "night"], []),
        ("a volcano under the aurora", ["volcano", "aurora"], []),
        ("Dunes at Night!", ["dunes", "night"], []),
        ("a misty forest, at sunrise.", ["mist", "forest", "dawn"], []),
        ("a mountain", ["mountains"], []),
        ("CITIES and lakes", ["city", "lake"], []),
        ("stormy oceans at sunset", ["storm", "ocean", "dusk"], []),
        ("moonlit canyon with a rainbow", ["moon", "canyon", "rainbow"], []),
        ("purple dunes", ["dunes"], ["purple"]),
        ("the sky at night", ["night"], []),
        ("", [], []),
    ],
)
def test_tokenize(prompt, known, unknown):
    assert scenes.tokenize(prompt) == (known, unknown)


def test_vocabulary_aliases_and_fillers_are_consistent():
    assert scenes.VOCABULARY == scenes.SUBJECTS + scenes.TIMES + scenes.MODIFIERS
    assert len(set(scenes.VOCABULARY)) == len(scenes.VOCABULARY)
    assert all(canonical(a, scenes.VOCABULARY, scenes.ALIASES) for a in scenes.ALIASES)
    assert set(scenes.ALIASES.values()) <= set(scenes.VOCABULARY)
    words = set(scenes.VOCABULARY) | set(scenes.ALIASES) | STOPWORDS
    assert not scenes.FILLERS & words
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
    args = ["data", "preview", name, "-o", str(plain), "--plain", "--size", "32"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output


def test_data_preview_unknown_dataset(tmp_path):
    from gencode.cli.main import cli

    result = CliRunner().invoke(cli, ["data", "preview", "nope", "-o", str(tmp_path / "x.png")])
    assert result.exit_code != 0 and "known" in result.output
