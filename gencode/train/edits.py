"""Attribute edits of a trained generator, fitted from what a judge sees in its own faces:
(render latents -> images, latent size, judge checkpoint) -> LatentEdits and their checkpoint meta.

InterFaceGAN: draw latents from the prior, render them, let the judge label each face, and fit a
linear boundary per attribute (gencode.models.directions.fit_edits: conditional, with reach). The
GAN always fits its edits this way; a VAE does when its recipe names a judge (otherwise from the
true labels of encoded faces), so both edit the faces users sample, as the gate's judge reads them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from gencode.models import classifier as C
from gencode.models.catalog import WEIGHTS_DIR
from gencode.models.checkpoint import file_sha256
from gencode.models.directions import LatentEdits, fit_edits, linear_boundary

Render = Callable[[torch.Tensor], torch.Tensor]  # latents (B, D) -> images (B, 3, H, W) in [-1, 1]
METHOD = "interfacegan, conditional (each orthogonal to the others), with reach"


def judge_path(spec: str) -> Path:
    """A judge checkpoint given as a path, or as a shipped name such as 'faces-judge'."""
    p = Path(spec)
    if p.suffix == ".safetensors" or p.exists():
        return p
    return WEIGHTS_DIR / f"{spec}.safetensors"


def judged_edits(
    render: Render, dim: int, judge_file: Path, n: int, seed: int
) -> tuple[LatentEdits, dict[str, Any]]:
    """Edits fitted on n prior latents labelled by the judge, and the meta that describes them."""
    if not judge_file.is_file():
        raise ValueError(f"judge {judge_file} not found; train (or install) it first")
    judge = C.load_classifier(judge_file)
    heads = judge.cfg.heads
    z = torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))  # (N, D)
    out = C.predict(judge, render(z))
    masks = C.binary_labels(heads, out, logits=True)
    values = {k: spec["values"] for k, spec in heads.items() if spec["kind"] == "categorical"}
    levels = [k for k, spec in heads.items() if spec["kind"] == "continuous"]
    classes = C.categories(heads, out, logits=True)
    edits = fit_edits(z, masks, classes, values, linear_boundary, levels)
    meta = {
        "method": METHOD,
        "samples": n,
        "judge_sha256": file_sha256(judge_file),
        "yes_share": {k: round(m.float().mean().item(), 4) for k, m in masks.items()},
        "amount": "1.0 moves a latent by the gap between typical faces without and with it",
        "categorical": {g: list(c.names) for g, c in edits.categories.items()},
    }
    return edits, meta
