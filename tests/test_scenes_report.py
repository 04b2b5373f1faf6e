"""The scenes gate's measures: the Fréchet distance's closed form, the gate's prompts, and the
shipped judge reading fresh procedural images as it was trained to (fidelity, time, modifiers)."""

from __future__ import annotations

import numpy as np
import pytest

from gencode.data import scenes
from gencode.models.classifier import load_classifier
from gencode.train import scenes_report as R

pytestmark = pytest.mark.usefixtures("one_thread_module")


def test_frechet_closed_form() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4000, 4))
    assert R.frechet(a, a) == pytest.approx(0.0, abs=1e-6)
    shift = np.array([1.0, 2.0, 0.0, 0.0])
    assert R.frechet(a, a + shift) == pytest.approx(5.0, rel=1e-6)  # |shift|^2, same covariance
    # N(0, I) against N(0, 4 I) in 4 dimensions: 4 + 16 - 2 * 4 * 2 = 4
    assert R.frechet(a, 2 * rng.standard_normal((4000, 4))) == pytest.approx(4.0, rel=0.1)


def test_gate_labels_follow_the_vocabulary() -> None:
    old = ["dunes", "ocean", "dawn", "night"]  # a model that knows two subjects and two times
    labels = R.gate_labels(old, n=3, time_n=2, seed=0)
    assert {lab["subject"] for lab in labels} == {"dunes", "ocean"}
    assert {lab.get("time") for lab in labels} == {None, "dawn", "night"}
    assert not any(lab.get("modifiers") for lab in labels)
    assert len(labels) == 2 * 3 + 2 * 2 * 2
    full = R.gate_labels(list(scenes.VOCABULARY), n=1, time_n=1, seed=0)
    asked = {m for lab in full for m in lab.get("modifiers", ())}
    assert asked == set(scenes.MODIFIERS)
    assert all(
        scenes.allowed(lab["subject"], lab.get("time", "dusk"), lab.get("modifiers", ()))
        for lab in full
    )
    assert (
        R.prompt({"subject": "lake", "time": "dawn", "modifiers": ("mist",)})
        == "lake with mist at dawn"
    )
    assert scenes.tokenize(R.prompt(full[-1]))[1] == []


@pytest.fixture(scope="module")
def judge():
    if not R.JUDGE.exists():
        pytest.skip("the scenes judge is not shipped")
    classifier = load_classifier(R.JUDGE)
    if "modifiers" not in classifier.cfg.heads:
        pytest.skip("the shipped scenes judge predates modifiers")
    return classifier


def test_judge_reads_fresh_paintings_at_every_size(judge) -> None:
    labels = R.gate_labels(list(scenes.VOCABULARY), n=2, time_n=1, seed=5)[::2]
    for size in (128, 256):
        real = R.real_like(labels, size, seed=77)
        r = R.score_images(real, labels, judge, real=R.real_like(labels, size, seed=78))
        assert r["fidelity"] > 0.85 and r["time"] > 0.85, r
        assert np.mean([v for k, v in r.items() if k.startswith("modifier/")]) > 0.8, r
        assert 0.6 < r["diversity"], r
        noise = np.random.default_rng(0).integers(0, 256, real.shape, dtype=np.uint8)
        assert R.score_images(noise, labels, judge, real=real)["frechet"] > 5 * r["frechet"]
        shuffled = [labels[i] for i in np.random.default_rng(1).permutation(len(labels))]
        other = R.real_like([{**lab, "subject": "city"} for lab in shuffled], size, seed=79)
        assert R.frechet(R.features(judge, other), R.features(judge, real)) > 2 * r["frechet"]
