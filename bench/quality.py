"""The quality gate of the shipped models, scored by independent judges (separate networks trained
on fresh procedural data with another seed, shipped in gencode/weights/).

Scenes: prompt fidelity (the judge reads the prompted subject), modifier fidelity (it reads the
prompted time of day), diversity (mean pairwise pixel distance of samples of one prompt over that
of real procedural images of the subject). Faces (GAN and VAE): each attribute edit, toggled on 64
fresh faces (added where the judge sees none, removed where it sees it), must move the judge's
score for that attribute the right way; gencode/train/faces_report.py draws the grids.

Targets: fidelity >= 90% on average and >= 75% for every subject (64 samples each); modifier
fidelity >= 85%; diversity ratio >= 0.5; every faces edit right way in >= 90% of 64 trials.
Usage: python bench/quality.py [--n 64] [--modifier-n 16] [--threads 2]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from gencode.data import scenes
from gencode.models.classifier import load_classifier, predict
from gencode.models.diffusion import load_diffusion
from gencode.samplers import get_sampler

WEIGHTS = Path(__file__).resolve().parent.parent / "gencode" / "weights"


def sample(model, prompts: list[str], seed: int, batch: int = 64) -> np.ndarray:
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
        with torch.inference_mode():
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


def scenes_gate(n: int, modifier_n: int, seed: int) -> dict[str, float]:
    model = load_diffusion(WEIGHTS / "scenes.safetensors")
    classifier = load_classifier(WEIGHTS / "scenes-judge.safetensors")
    heads = classifier.cfg.heads
    subjects, modifiers = heads["subject"]["values"], heads["modifier"]["values"]
    result: dict[str, float] = {}
    real, labels = scenes.generate(4000, seed=424242, size=int(model.meta.get("size", 32)))
    for s in subjects:
        images = sample(model, [s] * n, seed)
        got = judge(classifier, images)["subject"]
        result[f"fidelity/{s}"] = float(np.mean(got == subjects.index(s)))
        mine = [i for i, lab in enumerate(labels) if lab["subject"] == s][:n]
        result[f"diversity/{s}"] = pairwise(images) / pairwise(real[mine])
    prompts = [f"{s} at {m}" for s in subjects for m in modifiers for _ in range(modifier_n)]
    got = judge(classifier, sample(model, prompts, seed + 1))["modifier"]
    want = np.array([modifiers.index(p.split(" at ")[1]) for p in prompts])
    result["modifier"] = float(np.mean(got == want))
    fid = [v for k, v in result.items() if k.startswith("fidelity/")]
    div = [v for k, v in result.items() if k.startswith("diversity/")]
    result.update(fidelity=float(np.mean(fid)), fidelity_min=min(fid), diversity=min(div))
    return result


def faces_gate(n: int) -> dict[str, float]:
    """Per faces model and attribute, the share of n toggled edits that move the judge right."""
    from gencode.train.faces_report import FRESH_SEED, edit_success, shipped_renderers

    judge_net = load_classifier(WEIGHTS / "faces-judge.safetensors")
    result = {}
    for name, (render, dirs, dim) in shipped_renderers().items():
        z = torch.randn(n, dim, generator=torch.Generator().manual_seed(FRESH_SEED))
        for attr, rate in edit_success(render, judge_net, dirs, z, 1.0, toggle=True).items():
            result[f"edit/{name}/{attr}"] = rate
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--modifier-n", type=int, default=16)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    r = scenes_gate(a.n, a.modifier_n, a.seed) | faces_gate(a.n)
    edits = {k: v for k, v in r.items() if k.startswith("edit/")}
    worst = min(edits, key=edits.__getitem__)
    for k, v in sorted(r.items()):
        print(f"{k:24s} {v:.3f}")
    print(f"({time.perf_counter() - t0:.0f} s)")
    ok = (
        r["fidelity"] >= 0.9
        and r["fidelity_min"] >= 0.75
        and r["modifier"] >= 0.85
        and r["diversity"] >= 0.5
        and edits[worst] >= 0.9
    )
    print(
        f"RESULT scenes fidelity={r['fidelity']:.1%} (min {r['fidelity_min']:.1%}) "
        f"modifier={r['modifier']:.1%} diversity_ratio_min={r['diversity']:.2f}; "
        f"faces edits min={edits[worst]:.1%} ({worst.removeprefix('edit/')}) "
        f"{'PASS' if ok else 'FAIL'} (targets 90%/75%, 85%, 0.5; 90%)"
    )


if __name__ == "__main__":
    main()
