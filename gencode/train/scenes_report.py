"""Measuring a scenes model: what the scenes judge reads in its images, their diversity, and the
Fréchet distance to fresh procedural images in the judge's feature space.

Input: generated uint8 images (N, H, W, 3) of any size and the labels they were prompted with
({"subject", optional "time", optional "modifiers"}). Output: a dict of figures — prompt fidelity
per subject, time-of-day accuracy, per-modifier accuracy, diversity per subject, and the Fréchet
distance — from `score_images`. `scenes_gate` samples the shipped (or a given) model and scores it;
`bench/quality.py` runs the full gate and the tests a subset.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from gencode.data import scenes
from gencode.models.catalog import WEIGHTS_DIR
from gencode.models.checkpoint import read_info
from gencode.models.classifier import Classifier, load_classifier, predict

FRESH_SEED = 424_242  # real images no model was trained on
JUDGE = WEIGHTS_DIR / "scenes-judge.safetensors"


def _unit(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 127.5 - 1


def judge(classifier: Classifier, images: np.ndarray) -> dict[str, np.ndarray]:
    """Per head, the judge's reading: a class index (N,), or for multilabel heads yes/no (N, K)."""
    out = predict(classifier, _unit(images))
    return {
        k: (v > 0).numpy()
        if classifier.cfg.heads[k]["kind"] == "multilabel"
        else v.argmax(1).numpy()
        for k, v in out.items()
    }


@torch.inference_mode()
def features(classifier: Classifier, images: np.ndarray, batch: int = 256) -> np.ndarray:
    """The judge's hidden features (N, F) of uint8 images of any size."""
    x = _unit(images)
    return torch.cat([classifier.features(c) for c in x.split(batch)]).double().numpy()


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N, F) (FID's formula)."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(cov_a)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T  # cov_a^(1/2)
    cross = np.linalg.eigvalsh(root_a @ cov_b @ root_a)  # same spectrum as cov_a cov_b
    trace_sqrt = np.sqrt(np.clip(cross, 0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_sqrt)


def pairwise(images: np.ndarray) -> float:
    """Mean pairwise L2 distance between images in [0, 1]."""
    x = torch.from_numpy(images.reshape(len(images), -1)).float() / 255
    d = torch.cdist(x, x)
    n = len(x)
    return float(d.sum() / (n * (n - 1)))


def real_like(labels: list[dict], size: int, seed: int = FRESH_SEED) -> np.ndarray:
    """Fresh procedural images (N, size, size, 3) of the same labels (a missing time is drawn)."""
    rng = np.random.default_rng(seed)
    times = []
    for lab in labels:
        ok = [
            t for t in scenes.TIMES if scenes.allowed(lab["subject"], t, lab.get("modifiers", ()))
        ]
        times.append(lab.get("time") or ok[rng.integers(len(ok))])
    mods = [tuple(lab.get("modifiers", ())) for lab in labels]
    return scenes.render([lab["subject"] for lab in labels], times, mods, seed, size)


def score_images(
    images: np.ndarray,
    labels: list[dict],
    classifier: Classifier | None = None,
    real: np.ndarray | None = None,
) -> dict[str, float]:
    """Fidelity per subject, time-of-day accuracy, accuracy per modifier (the judge sees it where
    the prompt asked for it), diversity per subject against real images, and the Fréchet distance
    to real images. real: fresh procedural images of the same labels (drawn when not given)."""
    classifier = classifier or load_classifier(JUDGE)
    real = real_like(labels, images.shape[1]) if real is None else real
    heads, got = classifier.cfg.heads, judge(classifier, images)
    result: dict[str, float] = {}
    subjects = [lab["subject"] for lab in labels]
    for s in sorted(set(subjects)):
        mine = np.array([x == s for x in subjects])
        result[f"fidelity/{s}"] = float(
            np.mean(got["subject"][mine] == heads["subject"]["values"].index(s))
        )
        if mine.sum() > 1:
            result[f"diversity/{s}"] = pairwise(images[mine]) / pairwise(real[mine])
    timed = [i for i, lab in enumerate(labels) if lab.get("time")]
    if timed and "time" in got:
        want = [heads["time"]["values"].index(labels[i]["time"]) for i in timed]
        result["time"] = float(np.mean(got["time"][timed] == want))
    if "modifiers" in got:
        values = heads["modifiers"]["values"]
        for k, m in enumerate(values):
            asked = [i for i, lab in enumerate(labels) if m in lab.get("modifiers", ())]
            if asked:
                result[f"modifier/{m}"] = float(np.mean(got["modifiers"][asked, k]))
    result["frechet"] = frechet(features(classifier, images), features(classifier, real))
    return result | summary(result)


def summary(result: dict[str, float]) -> dict[str, float]:
    """The gate's headline figures: mean and worst fidelity, worst modifier, worst diversity."""

    def group(prefix: str) -> list[float]:
        return [v for k, v in result.items() if k.startswith(prefix)]

    fid, mods, div = group("fidelity/"), group("modifier/"), group("diversity/")
    out = {"fidelity": float(np.mean(fid)), "fidelity_min": min(fid)}
    if mods:
        out["modifier_min"] = min(mods)
    if div:
        out["diversity"] = min(div)
    return out


def gate_labels(vocabulary: list[str], n: int, time_n: int, seed: int) -> list[dict]:
    """What the gate prompts: n of each subject alone, time_n of each subject at each time, and
    time_n per subject with each modifier (for the subjects, times, modifiers the model knows)."""
    rng = np.random.default_rng(seed)
    subjects = [s for s in scenes.SUBJECTS if s in vocabulary]
    times = [t for t in scenes.TIMES if t in vocabulary]
    labels: list[dict] = [{"subject": s} for s in subjects for _ in range(n)]
    labels += [{"subject": s, "time": t} for s in subjects for t in times if scenes.allowed(s, t, ())
               for _ in range(time_n)]  # fmt: skip
    for m in (m for m in scenes.MODIFIERS if m in vocabulary):
        for s in subjects:
            ok = [t for t in times if scenes.allowed(s, t, (m,))]
            labels += [{"subject": s, "time": ok[rng.integers(len(ok))], "modifiers": (m,)}
                       for _ in range(time_n if ok else 0)]  # fmt: skip
    return labels


def prompt(label: dict) -> str:
    """A plain prompt for a gate label: "lake with mist at dawn"."""
    mods = label.get("modifiers", ())
    text = label["subject"] + (" with " + " and ".join(mods) if mods else "")
    return text + (f" at {label['time']}" if label.get("time") else "")


def scenes_gate(
    n: int,
    time_n: int,
    seed: int,
    model: str | Path = "scenes",
    size: int | None = None,
    steps: int | None = None,
    bf16: bool = False,
    upscale_to: int | None = None,
) -> dict[str, float]:
    """Render the gate's prompts (n per subject alone, time_n per subject with each time of day
    and with each modifier it knows) the way a script does — `diffuse "PROMPT" seed K` through
    gencode.render — and score the images (see score_images).
    model: a model name or a checkpoint to score (a retrain, before shipping it); size and steps
    default to the model's; upscale_to: resize before scoring (a 32 px model beside a 256 px one).
    bf16: sample in bfloat16 on the CPU, as `--bf16` renders (the judge stays in float32)."""
    from gencode.models.catalog import ModelCatalog
    from gencode.train.gate_render import render_prompts

    meta = read_info(model).meta if isinstance(model, Path) else ModelCatalog().resolve(model).meta
    size = size or int(meta.get("size", 256))
    labels = gate_labels(list(meta.get("vocabulary", [])), n, time_n, seed)
    images = render_prompts(model, [prompt(lab) for lab in labels], seed, size, steps, bf16=bf16)
    if upscale_to and upscale_to != size:
        images = resize(images, upscale_to)
    return score_images(images, labels)


def resize(images: np.ndarray, side: int) -> np.ndarray:
    """uint8 images resized (bicubic) to side x side."""
    from PIL import Image

    return np.stack(
        [np.asarray(Image.fromarray(im).resize((side, side), Image.BICUBIC)) for im in images]
    )
