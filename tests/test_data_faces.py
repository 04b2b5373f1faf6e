"""The procedural faces dataset: deterministic, labelled, varied, and each attribute visible."""

from __future__ import annotations

import numpy as np
import pytest

from gencode.data import dataset, faces


def test_registered_and_shapes() -> None:
    assert dataset("faces") is faces
    images, labels = faces.generate(12, seed=0)
    assert images.shape == (12, 32, 32, 3) and images.dtype == np.uint8
    assert len(labels) == 12
    assert all(set(lab) == set(faces.ATTRIBUTES) for lab in labels)


@pytest.mark.parametrize("size", [16, 48, 64])
def test_other_sizes(size: int) -> None:
    images, _ = faces.generate(3, seed=1, size=size)
    assert images.shape == (3, size, size, 3)


def test_deterministic_from_seed() -> None:
    a, la = faces.generate(20, seed=5)
    b, lb = faces.generate(20, seed=5)
    c, _ = faces.generate(20, seed=6)
    assert np.array_equal(a, b) and la == lb
    assert not np.array_equal(a, c)


def test_chunking_does_not_change_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    a, _ = faces.generate(10, seed=3)
    monkeypatch.setattr(faces, "CHUNK", 3)
    b, _ = faces.generate(10, seed=3)
    assert np.array_equal(a, b)


def test_labels_in_range_and_balanced() -> None:
    _, labels = faces.generate(400, seed=2)
    assert all(-1 <= lab["smile"] <= 1 and 0 <= lab["skin"] <= 1 for lab in labels)
    assert all(0 <= lab["eye_size"] <= 1 for lab in labels)
    assert {lab["hair"] for lab in labels} == set(faces.HAIR)
    assert 0.4 < np.mean([lab["glasses"] for lab in labels]) < 0.6
    assert faces.ATTRIBUTES["hair"]["values"] == list(faces.HAIR)


def _render_with(change: dict[str, object]) -> tuple[np.ndarray, np.ndarray]:
    """The same 8 faces before and after overriding some attributes."""
    p = faces._draw_params(8, np.random.default_rng(0))
    q = {k: v.copy() for k, v in p.items()}
    for k, v in change.items():
        q[k][:] = v
    return faces._render(p, 32).astype(float), faces._render(q, 32).astype(float)


@pytest.mark.parametrize(
    "change", [{"smile": 1.0}, {"hair": 2}, {"skin": 1.0}, {"glasses": True}, {"eye_size": 1.0}]
)
def test_each_attribute_is_visible(change: dict[str, object]) -> None:
    before, after = _render_with(change)
    (name,) = change
    p = faces._draw_params(8, np.random.default_rng(0))
    moved = np.abs(p[name].astype(float) - float(change[name])) > 0.5
    changed_pixels = (np.abs(after - before).max(axis=-1) > 40).sum(axis=(1, 2))
    assert np.all(changed_pixels[moved] >= 4), (name, changed_pixels)


def test_faces_differ_from_each_other() -> None:
    images, _ = faces.generate(32, seed=4)
    flat = images.reshape(32, -1).astype(float)
    dists = np.abs(flat[:, None] - flat[None]).mean(-1)
    assert dists[~np.eye(32, dtype=bool)].min() > 5
