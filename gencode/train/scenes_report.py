"""Measuring the scenes model: prompt and modifier fidelity read by the scenes judge, and diversity.

Used by `bench/quality.py` (the full gate, 64 samples per subject) and by the tests (a subset).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from gencode.data import scenes
from gencode.models.catalog import WEIGHTS_DIR
from gencode.models.classifier import load_classifier, predict
from gencode.models.diffusion import load_diffusion
from gencode.samplers import get_sampler

FRESH_SEED = 424_242  # real images no model was trained on


def sample(model, prompts: list[str], seed: int, batch: int = 64, bf16: bool = False) -> np.ndarray:
    """One sample per prompt with the model's default settings, uint8 (N, H, W, 3)."""
    m = model.meta
    steps, guidance = int(m.get("default_steps", 20)), float(m.get("default_guidance", 3.0))
    sampler = get_sampler(m.get("default_sampler", "ddim"))
    size = int(m.get("size", 32))
    out = []
    for i in range(0, len(prompts), batch):
        chunk = prompts[i : i + batch]
        g = torch.Generator().manual_seed(seed + i)
        cond, _ = model.encode(chunk)
        sigmas = model.sigmas(steps)
        x = torch.randn((len(chunk), 3, size, size), generator=g) * sigmas[0]
        extra = {"cond": cond, "uncond": model.null(len(chunk)), "cond_scale": guidance}
        with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            x = sampler(model.denoiser(), x, sigmas, extra_args=extra, generator=g)
        out.append(model.to_images(x))
    return np.concatenate(out)


def judge(classifier, images: np.ndarray) -> dict[str, np.ndarray]:
    """The judge's predicted class index per head."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1
    return {k: v.argmax(1).numpy() for k, v in predict(classifier, x).items()}


def pairwise(images: np.ndarray) -> float:
    """Mean pairwise L2 distance between images in [0, 1]."""
    x = torch.from_numpy(images.reshape(len(images), -1)).float() / 255
    d = torch.cdist(x, x)
    n = len(x)
    return float(d.sum() / (n * (n - 1)))


def scenes_gate(
    n: int,
    modifier_n: int,
    seed: int,
    real: int = 4000,
    model_path: Path | None = None,
    bf16: bool = False,
) -> dict[str, float]:
    """Fidelity and diversity per subject (n samples each), modifier fidelity (modifier_n samples
    per subject and time of day), and their summaries: fidelity, fidelity_min, diversity (worst).
    Diversity compares with n real images per subject, from a pool of `real` fresh ones.
    model_path: a checkpoint to score instead of the shipped one (a retrain, before shipping it).
    bf16: sample in bfloat16 on the CPU, as `--bf16` renders (the judge stays in float32)."""
    model = load_diffusion(model_path or WEIGHTS_DIR / "scenes.safetensors")
    classifier = load_classifier(WEIGHTS_DIR / "scenes-judge.safetensors")
    heads = classifier.cfg.heads
    subjects, modifiers = heads["subject"]["values"], heads["modifier"]["values"]
    result: dict[str, float] = {}
    pool, labels = scenes.generate(real, seed=FRESH_SEED, size=int(model.meta.get("size", 32)))
    for s in subjects:
        images = sample(model, [s] * n, seed, bf16=bf16)
        got = judge(classifier, images)["subject"]
        result[f"fidelity/{s}"] = float(np.mean(got == subjects.index(s)))
        mine = [i for i, lab in enumerate(labels) if lab["subject"] == s][:n]
        result[f"diversity/{s}"] = pairwise(images) / pairwise(pool[mine])
    prompts = [f"{s} at {m}" for s in subjects for m in modifiers for _ in range(modifier_n)]
    got = judge(classifier, sample(model, prompts, seed + 1, bf16=bf16))["modifier"]
    want = np.array([modifiers.index(p.split(" at ")[1]) for p in prompts])
    result["modifier"] = float(np.mean(got == want))
    fid = [v for k, v in result.items() if k.startswith("fidelity/")]
    div = [v for k, v in result.items() if k.startswith("diversity/")]
    result.update(fidelity=float(np.mean(fid)), fidelity_min=min(fid), diversity=min(div))
    return result
