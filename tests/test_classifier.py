"""The judge classifier: named heads, targets from dataset labels, losses, scores, checkpoints."""

from __future__ import annotations

import pytest
import torch
from runtime_support import LAYOUT_ATOL

from gencode.data import faces
from gencode.models import classifier as C
from gencode.models.checkpoint import CheckpointError, save_checkpoint

HEADS = faces.ATTRIBUTES


pytestmark = pytest.mark.usefixtures("one_thread_module")


def _tiny() -> C.Classifier:
    torch.manual_seed(0)  # nn.Module default init only; everything else uses explicit generators
    return C.Classifier(C.ClassifierConfig(width=8, heads=HEADS))


def _faces(n: int, seed: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    images, labels = faces.generate(n, seed)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1  # (N, 3, H, W)
    return x, C.targets_from_labels(HEADS, labels)


def test_heads_shapes() -> None:
    out = _tiny()(torch.zeros(3, 3, 32, 32))
    assert out["hair"].shape == (3, len(faces.HAIR))
    assert all(out[k].shape == (3,) for k in ("smile", "skin", "glasses", "eye_size"))


def test_targets_losses_scores_and_binary_labels() -> None:
    m = _tiny()
    x, y = _faces(6, 0)
    assert y["hair"].dtype == torch.long and y["glasses"].dtype == torch.float32
    out = m(x)
    losses = C.head_losses(HEADS, out, y)
    assert set(losses) == set(HEADS) and all(v.isfinite() for v in losses.values())
    s = C.scores(m, out)
    assert {f"hair_{h}" for h in faces.HAIR} <= set(s) and "smile" in s and "hair" not in s
    truth = C.binary_labels(HEADS, y, logits=False)
    assert set(truth) == set(s)
    assert torch.equal(truth["glasses"], y["glasses"] > 0.5)
    assert torch.equal(truth["smile"], y["smile"] > 0)
    assert torch.equal(truth["hair_red"], y["hair"] == faces.HAIR.index("red"))
    assert set(C.binary_labels(HEADS, out, logits=True)) == set(s)


def test_scene_heads_from_scene_labels() -> None:
    scenes = pytest.importorskip("gencode.data.scenes")
    from gencode.train.classifier import heads_for

    heads = heads_for("scenes")
    assert heads["modifiers"] == {"kind": "multilabel", "values": list(scenes.MODIFIERS)}
    _, labels = scenes.generate(40, seed=0, size=8)
    y = C.targets_from_labels(heads, labels)
    assert y["subject"].shape == (40,) and int(y["subject"].max()) < len(scenes.SUBJECTS)
    assert y["time"].shape == (40,)
    assert y["modifiers"].shape == (40, len(scenes.MODIFIERS))
    for row, lab in zip(y["modifiers"], labels, strict=True):  # multi-hot: one 1 per modifier
        assert {scenes.MODIFIERS[i] for i in row.nonzero().flatten().tolist()} == set(
            lab["modifiers"]
        )


def test_multilabel_head_losses_accuracy_scores_at_any_size() -> None:
    heads = {"modifiers": {"kind": "multilabel", "values": ["moon", "mist", "snow"]}}
    torch.manual_seed(0)
    m = C.Classifier(C.ClassifierConfig(size=16, width=8, stem=2, heads=heads)).eval()
    for size in (16, 40, 64):  # resized to the config's size: any render size is read
        assert m(torch.zeros(2, 3, size, size))["modifiers"].shape == (2, 3)
    assert m.features(torch.zeros(2, 3, 40, 40)).shape == (2, 32)
    y = C.targets_from_labels(heads, [{"modifiers": ("moon", "snow")}, {"modifiers": ()}])
    assert y["modifiers"].tolist() == [[1.0, 0.0, 1.0], [0.0, 0.0, 0.0]]
    out = {"modifiers": torch.tensor([[3.0, -2.0, 1.0], [-1.0, 2.0, -3.0]])}  # second: mist wrong
    acc = C.accuracy(heads, out, y)
    assert acc["modifiers"] == 0.5 and acc["modifiers/moon"] == 1.0 and acc["modifiers/mist"] == 0.5
    loss = C.head_losses(heads, out, y)["modifiers"]
    assert (
        loss.item()
        > C.head_losses(heads, {"modifiers": 4 * (2 * y["modifiers"] - 1)}, y)["modifiers"].item()
    )
    s = C.scores(m, out)
    assert set(s) == {"modifiers_moon", "modifiers_mist", "modifiers_snow"}
    assert torch.allclose(s["modifiers_moon"].exp(), torch.sigmoid(out["modifiers"][:, 0]))
    truth = C.binary_labels(heads, y, logits=False)
    assert truth["modifiers_snow"].tolist() == [True, False]


def test_learns_glasses_quickly() -> None:
    m = _tiny()
    x, y = _faces(128, 1)
    heads = {"glasses": HEADS["glasses"]}
    opt = torch.optim.Adam(m.parameters(), 3e-3)
    first = None
    for _ in range(25):
        loss = C.head_losses(heads, m(x), y)["glasses"]
        first = first or loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * first
    with torch.no_grad():  # still in train mode: BatchNorm's running stats lag after 25 steps
        assert C.accuracy(heads, m(x), y)["glasses"] > 0.8


def test_checkpoint_round_trip(tmp_path) -> None:
    m = _tiny().eval()
    path = tmp_path / "judge.safetensors"
    tensors = {f"classifier.{k}": v for k, v in m.state_dict().items()}
    save_checkpoint(path, tensors, family="classifier", arch="cnn", config=C.config_dict(m.cfg))
    loaded = C.load_classifier(path)
    assert loaded.cfg == m.cfg
    x, _ = _faces(5, 2)
    a, b = C.predict(loaded, x, batch=2), m(x)
    assert all(torch.allclose(a[k], b[k].detach(), atol=LAYOUT_ATOL) for k in HEADS)
    save_checkpoint(path, {"x": torch.zeros(1)}, family="gan", arch="dcgan", config={})
    with pytest.raises(CheckpointError, match="not a classifier"):
        C.load_classifier(path)
