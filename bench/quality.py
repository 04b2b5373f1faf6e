"""The quality gate of the shipped models, scored by independent judges (separate networks trained
on fresh procedural data with another seed, shipped in gencode/weights/).

Scenes: prompt fidelity (the judge reads the prompted subject), time-of-day accuracy (it reads the
prompted time), modifier accuracy (it sees each prompted modifier: moon, mist, snow, ...; only those
the model knows), diversity (mean pairwise pixel distance of one subject's samples over that of
fresh procedural images of the same labels), and the Fréchet distance between samples and those
fresh images in the judge's feature space (lower is better). Faces (GAN and VAE): each attribute edit, toggled on 64
fresh faces (added where the judge sees none, removed where it sees it), must move the judge's
score for that attribute the right way; gencode/train/faces_report.py draws the grids.

Targets: fidelity >= 90% on average and >= 75% for every subject (64 samples each); time of day
>= 85%; each modifier >= 90%; diversity ratio >= 0.5; every faces edit right way in >= 90% of 64.
Usage: python bench/quality.py [--n 64] [--time-n 16] [--threads 2] [--scenes CKPT] [--bf16]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from gencode.models.catalog import WEIGHTS_DIR
from gencode.models.classifier import load_classifier
from gencode.train.scenes_report import scenes_gate


def faces_gate(n: int) -> dict[str, float]:
    """Per faces model and attribute, the share of n toggled edits that move the judge right."""
    from gencode.train.faces_report import FRESH_SEED, edit_success, shipped_renderers

    judge_net = load_classifier(WEIGHTS_DIR / "faces-judge.safetensors")
    result = {}
    for name, (render, dirs, dim) in shipped_renderers().items():
        z = torch.randn(n, dim, generator=torch.Generator().manual_seed(FRESH_SEED))
        for attr, rate in edit_success(render, judge_net, dirs, z, 1.0, toggle=True).items():
            result[f"edit/{name}/{attr}"] = rate
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--time-n", type=int, default=16, help="samples per subject and time/modifier")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--scenes", type=Path, default=None, help="a scenes checkpoint to score")
    ap.add_argument("--steps", type=int, nargs="+", default=[20, 4], help="sampler steps to gate")
    ap.add_argument("--before", default="scenes32", help="a model scored beside (upsampled)")
    ap.add_argument("--no-faces", action="store_true", help="score the scenes model only")
    ap.add_argument("--bf16", action="store_true", help="sample scenes in bfloat16, as --bf16")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    model = a.scenes or "scenes"
    runs = {s: scenes_gate(a.n, a.time_n, a.seed, model, steps=s, bf16=a.bf16) for s in a.steps}
    before = scenes_gate(a.n, a.time_n, a.seed, a.before, upscale_to=256) if a.before else {}
    r = runs[a.steps[0]] | (faces_gate(a.n) if not a.no_faces else {"edit/none": 1.0})
    edits = {k: v for k, v in r.items() if k.startswith("edit/")}
    worst = min(edits, key=edits.__getitem__)
    for k, v in sorted(r.items()):
        print(f"{k:24s} {v:.3f}")
    for s, g in runs.items():
        print(f"{s:2d} steps: fidelity {g['fidelity']:.1%} (min {g['fidelity_min']:.1%}) "
              f"time {g['time']:.1%} frechet {g['frechet']:.2f}")  # fmt: skip
    if before:
        print(f"{a.before} upsampled to 256: fidelity {before['fidelity']:.1%} "
              f"frechet {before['frechet']:.2f}")  # fmt: skip
    print(f"({time.perf_counter() - t0:.0f} s)")
    ok = (
        r["fidelity"] >= 0.95
        and r["fidelity_min"] >= 0.85
        and r["time"] >= 0.85
        and r.get("modifier_min", 1.0) >= 0.9
        and r["diversity"] >= 0.6
        and edits[worst] >= 0.9
    )
    print(
        f"RESULT scenes fidelity={r['fidelity']:.1%} (min {r['fidelity_min']:.1%}) "
        f"time={r['time']:.1%} modifier_min={r.get('modifier_min', float('nan')):.1%} "
        f"diversity_ratio_min={r['diversity']:.2f} frechet={r['frechet']:.2f}"
        + "".join(f" frechet@{s}={g['frechet']:.2f}" for s, g in runs.items())
        + (f" {a.before}_frechet={before['frechet']:.2f}; " if before else "; ")
        + f"faces edits min={edits[worst]:.1%} ({worst.removeprefix('edit/')}) "
        f"{'PASS' if ok else 'FAIL'} (targets 95%/85%, 85%, 90%, 0.6; 90%)"
    )


if __name__ == "__main__":
    main()
