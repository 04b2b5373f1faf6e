"""A small CNN with named heads: image (B, 3, H, W) in [-1, 1] -> {head: logits or value}.

It is the independent judge of the quality gate: trained on fresh procedural data (a seed the
generators never saw), it says what a generated image shows (a scene's subject, time of day and
modifiers; a face's attributes). Head kinds follow the datasets' ATTRIBUTES: "categorical" (logits
over values), "binary" (one logit), "multilabel" (one logit per value: any number of them may be
present) and "continuous" (the value itself, in label units). Images of any size are resized to
the config's size first, so one judge reads renders at every size.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class ClassifierConfig:
    """Three conv stages (halving the resolution each) and one linear layer per head."""

    size: int = 32  # images are resized (antialiased) to size x size before the trunk
    channels: int = 3
    width: int = 32  # channels of the first stage; doubles per stage
    stem: int = 1  # > 1: a stride-`stem` conv to 16 channels first (a 64 px judge at 32 px's cost)
    heads: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {"kind", "values"}


def _stage(a: int, b: int) -> nn.Sequential:
    """Two 3x3 convs and a 2x max-pool."""
    return nn.Sequential(
        nn.Conv2d(a, b, 3, 1, 1), nn.BatchNorm2d(b), nn.ReLU(),
        nn.Conv2d(b, b, 3, 1, 1), nn.BatchNorm2d(b), nn.ReLU(),
        nn.MaxPool2d(2),
    )  # fmt: skip


def head_width(spec: dict[str, Any]) -> int:
    """Outputs of one head: one per value for categorical and multilabel heads, else one."""
    return len(spec["values"]) if spec["kind"] in ("categorical", "multilabel") else 1


def per_value(spec: dict[str, Any]) -> bool:
    """Whether a head has one output per value (categorical, multilabel)."""
    return spec["kind"] in ("categorical", "multilabel")


class Classifier(nn.Module):
    """Conv trunk -> pooled features -> one linear layer per named head."""

    def __init__(self, cfg: ClassifierConfig) -> None:
        super().__init__()
        self.cfg = cfg
        w, c = cfg.width, cfg.channels
        stem: list[nn.Module] = []
        if cfg.stem > 1:
            c = 16
            stem = [nn.Conv2d(cfg.channels, c, cfg.stem, cfg.stem), nn.BatchNorm2d(c), nn.ReLU()]
        self.trunk = nn.Sequential(*stem, _stage(c, w), _stage(w, 2 * w), _stage(2 * w, 4 * w))
        feat = 4 * w * 4  # 4w channels, pooled to 2x2
        self.pool = nn.AdaptiveAvgPool2d(2)  # keeps coarse position (mouth below eyes)
        self.hidden = nn.Sequential(nn.Linear(feat, 4 * w), nn.ReLU())
        self.heads = nn.ModuleDict(
            {name: nn.Linear(4 * w, head_width(spec)) for name, spec in cfg.heads.items()}
        )

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The hidden features (B, 4w) the heads read (the space of the gate's Fréchet distance)."""
        s = self.cfg.size
        if x.shape[-2:] != (s, s):
            x = F.interpolate(x, size=(s, s), mode="bilinear", antialias=True, align_corners=False)
        h = self.pool(self.trunk(x)).flatten(1)  # (B, 16w)
        return self.hidden(h)  # (B, 4w)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.features(x)
        out = {}
        for name, layer in self.heads.items():
            y = layer(h)  # (B, K) or (B, 1)
            out[name] = y if per_value(self.cfg.heads[name]) else y.squeeze(1)
        return out


def targets_from_labels(
    heads: dict[str, dict[str, Any]], labels: list[dict]
) -> dict[str, torch.Tensor]:
    """Per-head targets from a dataset's label dicts: class indices, multi-hot rows or floats."""
    out: dict[str, torch.Tensor] = {}
    for name, spec in heads.items():
        if spec["kind"] == "categorical":
            index = {v: i for i, v in enumerate(spec["values"])}
            out[name] = torch.tensor([index[lab[name]] for lab in labels], dtype=torch.long)
        elif spec["kind"] == "multilabel":
            rows = [[float(v in lab[name]) for v in spec["values"]] for lab in labels]
            out[name] = torch.tensor(rows, dtype=torch.float32).reshape(len(labels), -1)
        else:
            out[name] = torch.tensor([float(lab[name]) for lab in labels], dtype=torch.float32)
    return out


def head_losses(
    heads: dict[str, dict[str, Any]], out: dict[str, torch.Tensor], y: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """One loss per head: cross-entropy, binary cross-entropy (per value for multilabel), or MSE."""
    losses = {}
    for name, spec in heads.items():
        if spec["kind"] == "categorical":
            losses[name] = F.cross_entropy(out[name], y[name])
        elif spec["kind"] in ("binary", "multilabel"):
            losses[name] = F.binary_cross_entropy_with_logits(out[name], y[name])
        else:
            losses[name] = F.mse_loss(out[name], y[name])
    return losses


def scores(model: Classifier, out: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A scalar score per attribute (higher = more of it): 'hair_red' is that class's log-prob,
    'modifiers_moon' the log-probability that a moon is there."""
    res: dict[str, torch.Tensor] = {}
    for name, spec in model.cfg.heads.items():
        if per_value(spec):
            categorical = spec["kind"] == "categorical"
            logp = out[name].log_softmax(1) if categorical else F.logsigmoid(out[name])  # (B, K)
            for i, value in enumerate(spec["values"]):
                res[f"{name}_{value}"] = logp[:, i]
        else:
            res[name] = out[name]
    return res


def readings(
    heads: dict[str, dict[str, Any]], out: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """Per head what it reads, on one scale, from head outputs: a level's position in its range
    (0 at the bottom, 1 at the top), a yes/no head's probability, per-value probabilities (B, K)."""
    res = {}
    for name, spec in heads.items():
        y = out[name]
        if spec["kind"] == "continuous":
            lo, hi = spec["range"]
            res[name] = (y - lo) / (hi - lo)
        elif spec["kind"] == "categorical":
            res[name] = F.softmax(y, 1)
        else:
            res[name] = torch.sigmoid(y)
    return res


def head_of(name: str, heads: dict[str, dict[str, Any]]) -> str:
    """The head an attribute name is read from: 'hair_red' -> 'hair', 'smile' -> 'smile'."""
    return name if name in heads else name.rsplit("_", 1)[0]


def binary_labels(
    heads: dict[str, dict[str, Any]], values: dict[str, torch.Tensor], logits: bool
) -> dict[str, torch.Tensor]:
    """Yes/no per attribute ('glasses', 'smile', 'hair_red'), from head outputs or from targets.

    Continuous heads split at the middle of their range; binary heads at logit 0 (outputs) or 0.5
    (targets); categorical heads one attribute per value (argmax for outputs, index for targets).
    """
    res: dict[str, torch.Tensor] = {}
    for name, spec in heads.items():
        v = values[name]
        if spec["kind"] == "categorical":
            index = v.argmax(1) if logits else v
            for i, value in enumerate(spec["values"]):
                res[f"{name}_{value}"] = index == i
        elif spec["kind"] == "multilabel":
            for i, value in enumerate(spec["values"]):
                res[f"{name}_{value}"] = v[:, i] > (0.0 if logits else 0.5)
        elif spec["kind"] == "binary":
            res[name] = v > (0.0 if logits else 0.5)
        else:
            res[name] = v > float(np.mean(spec["range"]))
    return res


def categories(
    heads: dict[str, dict[str, Any]], values: dict[str, torch.Tensor], logits: bool
) -> dict[str, torch.Tensor]:
    """Per categorical head, the class index of each image (argmax of outputs, or the targets)."""
    return {
        name: values[name].argmax(1) if logits else values[name]
        for name, spec in heads.items()
        if spec["kind"] == "categorical"
    }


def accuracy(
    heads: dict[str, dict[str, Any]], out: dict[str, torch.Tensor], y: dict[str, torch.Tensor]
) -> dict[str, float]:
    """Per head: accuracy (categorical, binary; continuous thresholded at the range's middle);
    a multilabel head gets its exact-set accuracy, and per value its accuracy ('modifiers/moon')
    and its recall ('modifiers/moon/recall')."""
    acc = {}
    for name, spec in heads.items():
        if spec["kind"] == "categorical":
            acc[name] = (out[name].argmax(1) == y[name]).float().mean().item()
        elif spec["kind"] == "multilabel":
            right = (out[name] > 0) == (y[name] > 0.5)  # (B, K)
            acc[name] = right.all(1).float().mean().item()
            for i, value in enumerate(spec["values"]):
                acc[f"{name}/{value}"] = right[:, i].float().mean().item()
                present = y[name][:, i] > 0.5  # recall: seen where it is (what the gate asks)
                if present.any():
                    acc[f"{name}/{value}/recall"] = right[present, i].float().mean().item()
        elif spec["kind"] == "binary":
            acc[name] = ((out[name] > 0) == (y[name] > 0.5)).float().mean().item()
        else:
            mid = float(np.mean(spec["range"]))
            acc[name] = ((out[name] > mid) == (y[name] > mid)).float().mean().item()
    return acc


def config_dict(cfg: ClassifierConfig) -> dict[str, Any]:
    """A config as JSON-ready data, for checkpoints."""
    return asdict(cfg)


def load_classifier(path: str | Path, device: str | torch.device = "cpu") -> Classifier:
    """The classifier of a checkpoint, in eval mode (tensors under 'classifier.')."""
    from gencode.models.checkpoint import CheckpointError, load_tensors, read_info

    info = read_info(path)
    if info.family != "classifier":
        raise CheckpointError(f"{path}: a {info.family} checkpoint, not a classifier")
    model = Classifier(ClassifierConfig(**info.config))
    prefix = "classifier."
    tensors = load_tensors(path)
    model.load_state_dict({k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)})
    return model.to(device).eval()


@torch.inference_mode()
def predict(model: Classifier, x: torch.Tensor, batch: int = 256) -> dict[str, torch.Tensor]:
    """Head outputs for images (B, C, H, W) in [-1, 1], in chunks, on the CPU."""
    device = next(model.parameters()).device
    parts = [model(c.to(device)) for c in x.split(batch)]
    return {k: torch.cat([p[k].float().cpu() for p in parts]) for k in parts[0]}
