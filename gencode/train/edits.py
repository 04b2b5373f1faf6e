"""Attribute edits of a trained generator, fitted from what a judge sees in its own faces:
(render latents -> images, latent size, judge checkpoint) -> LatentEdits and their checkpoint meta.

InterFaceGAN: draw latents from the prior, render them, let the judge label each face, and fit a
linear boundary per attribute (gencode.models.directions.fit_edits: conditional, with reach). The
GAN always fits its edits this way; a VAE does when its recipe names a judge (otherwise from the
true labels of encoded faces), so both edit the faces users sample, as the gate's judge reads them.
A recipe's `disentangle = STEPS` then refines each direction through the generator
(gencode.train.disentangle), for what a linear boundary leaves entangled.
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
from gencode.train.disentangle import refine

Render = Callable[[torch.Tensor], torch.Tensor]  # latents (B, D) -> images (B, 3, H, W) in [-1, 1]
METHOD = "interfacegan, conditional (each orthogonal to the others), with reach"
CHUNK = 256  # latents rendered at once while labelling


def judge_path(spec: str) -> Path:
    """A judge checkpoint given as a path, or as a shipped name such as 'faces-judge'."""
    p = Path(spec)
    if p.suffix == ".safetensors" or p.exists():
        return p
    return WEIGHTS_DIR / f"{spec}.safetensors"


def judged_edits(
    decode: Render, dim: int, judge_file: Path, n: int, seed: int, disentangle: int = 0
) -> tuple[LatentEdits, dict[str, Any]]:
    """Edits fitted on n prior latents labelled by the judge, then refined through `decode` (the
    generator, differentiable) for `disentangle` steps each; and the meta that describes them."""
    if not judge_file.is_file():
        raise ValueError(f"judge {judge_file} not found; train (or install) it first")
    judge = C.load_classifier(judge_file)
    heads = judge.cfg.heads
    z = torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))  # (N, D)
    with torch.no_grad():
        out = C.predict(judge, torch.cat([decode(c) for c in z.split(CHUNK)]))
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
    if disentangle:
        edits, report = refine(decode, judge, edits, disentangle, seed=seed + 1)
        meta["method"] = f"{METHOD}, refined through the generator ({disentangle} steps each)"
        meta["refined"] = report
    return edits, meta
