"""The quality gate of the shipped models, scored by independent judges (separate networks trained
on fresh procedural data with another seed, shipped in gencode/weights/).

Scenes: prompt fidelity (the judge reads the prompted subject), time-of-day accuracy (it reads the
prompted time), modifier accuracy (it sees each prompted modifier: moon, mist, snow, ...; only those
the model knows), diversity (mean pairwise pixel distance of one subject's samples over that of
fresh procedural images of the same labels), and the Fréchet distance between samples and those
fresh images in the judge's feature space (lower is better). Faces (GAN and VAE), on --faces-n
fresh faces: each attribute edit, toggled (added where the judge sees none, removed where it sees
it), must move the judge's score for that attribute the right way; and each edit, at +1 and at -1
on every face, must leave every other attribute as the judge saw it: glasses added to faces that had
none or removed from faces that had them, a hair colour changed, a smile, skin tone or eye size
moved by a fifth of its range (faces_report.side_effects). gencode/train/faces_report.py draws the
grids.

Targets: fidelity >= 90% on average and >= 75% for every subject (64 samples each); time of day
>= 85%; each modifier >= 90%; diversity ratio >= 0.5; every faces edit right way in >= 90%, and
its side effect on each other attribute <= 10%, per model.
Usage: python bench/quality.py [--n 64] [--time-n 16] [--faces-n 512] [--threads 2] [--scenes CKPT]
       [--bf16] [--no-scenes]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from gencode.models.catalog import WEIGHTS_DIR
from gencode.models.classifier import load_classifier
from gencode.train.faces_report import GATE_FACES
from gencode.train.scenes_report import scenes_gate


def faces_gate(
    n: int, paths: dict[str, Path] | None = None, judge: Path | None = None
) -> dict[str, float]:
    """Per faces model: per attribute the share of n toggled edits that move the judge right
    ('edit/faces-gan/smile'), per edit and other attribute the side effect ('side/faces-gan/
    smile->glasses'); read by the shipped faces judge, or by `judge`."""
    from gencode.train.faces_report import FRESH_SEED, edit_success, shipped_renderers, side_effects

    judge_net = load_classifier(judge or WEIGHTS_DIR / "faces-judge.safetensors")
    result = {}
    for name, (render, dirs, dim) in shipped_renderers(paths).items():
        z = torch.randn(n, dim, generator=torch.Generator().manual_seed(FRESH_SEED))
        for attr, rate in edit_success(render, judge_net, dirs, z, 1.0, toggle=True).items():
            result[f"edit/{name}/{attr}"] = rate
        for (attr, other), rate in side_effects(render, judge_net, dirs, z, 1.0).items():
            result[f"side/{name}/{attr}->{other}"] = rate
    return result


def faces_verdict(r: dict[str, float]) -> tuple[bool, str]:
    """Whether the faces figures meet the targets, and the line that says so."""
    edits = {k: v for k, v in r.items() if k.startswith("edit/")}
    sides = {k: v for k, v in r.items() if k.startswith("side/")}
    worst = min(edits, key=edits.__getitem__)
    side = max(sides, key=sides.__getitem__)
    over = sorted(k.removeprefix("side/") for k, v in sides.items() if v > 0.1)
    ok = edits[worst] >= 0.9 and sides[side] <= 0.1
    line = (
        f"faces edits min={edits[worst]:.1%} ({worst.removeprefix('edit/')}) "
        f"side effects max={sides[side]:.1%} ({side.removeprefix('side/')})"
        + (f" over 10%: {', '.join(over)}" if over else "")
    )
    return ok, line


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
    ap.add_argument("--faces-n", type=int, default=GATE_FACES, help="fresh faces per faces model")
    ap.add_argument("--no-scenes", action="store_true", help="score the faces models only")
    for name in ("gan", "vae"):
        ap.add_argument(f"--faces-{name}", type=Path, default=None, help=f"a faces {name.upper()} checkpoint to score instead of the shipped one")  # fmt: skip
    ap.add_argument("--faces-judge", type=Path, default=None, help="a faces judge to read with instead of the shipped one (another judge cross-checks edits fitted with the first)")  # fmt: skip
    a = ap.parse_args()
    faces_paths = {f"faces-{k}": v for k, v in (("gan", a.faces_gan), ("vae", a.faces_vae)) if v}
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    if a.no_scenes:
        return faces_only(a.faces_n, t0, faces_paths, a.faces_judge)
    model = a.scenes or "scenes"
    runs = {s: scenes_gate(a.n, a.time_n, a.seed, model, steps=s, bf16=a.bf16) for s in a.steps}
    before = scenes_gate(a.n, a.time_n, a.seed, a.before, upscale_to=256) if a.before else {}
    faces = (
        faces_gate(a.faces_n, faces_paths, a.faces_judge)
        if not a.no_faces
        else {"edit/none": 1.0, "side/none": 0.0}
    )
    r = runs[a.steps[0]] | faces
    faces_ok, faces_line = faces_verdict(faces)
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
        and faces_ok
    )
    print(
        f"RESULT scenes fidelity={r['fidelity']:.1%} (min {r['fidelity_min']:.1%}) "
        f"time={r['time']:.1%} modifier_min={r.get('modifier_min', float('nan')):.1%} "
        f"diversity_ratio_min={r['diversity']:.2f} frechet={r['frechet']:.2f}"
        + "".join(f" frechet@{s}={g['frechet']:.2f}" for s, g in runs.items())
        + (f" {a.before}_frechet={before['frechet']:.2f}; " if before else "; ")
        + f"{faces_line} {'PASS' if ok else 'FAIL'} (targets 95%/85%, 85%, 90%, 0.6; 90%, 10%)"
    )


def faces_only(
    n: int, t0: float, paths: dict[str, Path] | None = None, judge: Path | None = None
) -> None:
    """The faces part of the gate alone: every figure, then its RESULT line."""
    r = faces_gate(n, paths, judge)
    for k, v in sorted(r.items()):
        print(f"{k:36s} {v:.3f}")
    ok, line = faces_verdict(r)
    print(f"({time.perf_counter() - t0:.0f} s)")
    print(f"RESULT {line} (of {n} faces per model) {'PASS' if ok else 'FAIL'} (targets 90%, 10%)")


if __name__ == "__main__":
    main()
