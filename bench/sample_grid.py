"""Render a contact sheet from a diffusion checkpoint: one row per prompt, to judge training by eye.

    python bench/sample_grid.py gencode/weights/scenes.safetensors -o runs/scenes/grid.png

Prints the seconds per image (batched) on its last line.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from gencode.data.scenes import SUBJECTS
from gencode.models.diffusion import load_diffusion
from gencode.samplers import get_sampler

DEFAULT_PROMPTS = [
    *SUBJECTS,
    "dunes at night",
    "ocean at dusk",
    "city at night",
    "forest at dawn",
    "mountains at day",
]


def sample(
    model, prompts: list[str], n: int, steps: int, guidance: float, sampler: str, seed: int
) -> np.ndarray:
    """n samples per prompt, uint8 (P, n, H, W, 3), all prompts in one batch."""
    size = int(model.meta.get("size", 32))
    cond, unknown = model.encode([p for p in prompts for _ in range(n)])
    if unknown:
        print(f"warning: unknown words {unknown}; the model knows {model.vocabulary}")
    g = torch.Generator().manual_seed(seed)
    sigmas = model.sigmas(steps)
    x = torch.randn((len(cond), 3, size, size), generator=g) * sigmas[0]
    extra = {"cond": cond, "uncond": model.null(len(cond))}
    with torch.inference_mode():
        x = get_sampler(sampler)(model.denoiser(guidance), x, sigmas, extra_args=extra, generator=g)
    return model.to_images(x).reshape(len(prompts), n, size, size, 3)


def contact_sheet(
    rows: np.ndarray, labels: list[str], scale: int = 3, label_w: int = 120
) -> Image.Image:
    """A grid image with one labelled row per prompt."""
    p, n, h, w, _ = rows.shape
    sheet = Image.new("RGB", (label_w + n * w * scale, p * h * scale), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=13)  # Pillow's scalable font: the bitmap one drops spaces
    for i, row in enumerate(rows):
        strip = Image.fromarray(np.concatenate(list(row), axis=1))
        sheet.paste(
            strip.resize((n * w * scale, h * scale), Image.NEAREST), (label_w, i * h * scale)
        )
        draw.text((4, i * h * scale + h * scale // 2 - 6), labels[i], fill="black", font=font)
    return sheet


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("-o", "--output", default="grid.png")
    ap.add_argument("--prompts", nargs="*", default=DEFAULT_PROMPTS)
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--guidance", type=float, default=None)
    ap.add_argument("--sampler", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model = load_diffusion(a.checkpoint)
    m = model.meta
    steps = a.steps or int(m.get("default_steps", 20))
    guidance = a.guidance if a.guidance is not None else float(m.get("default_guidance", 3.0))
    sampler = a.sampler or m.get("default_sampler", "ddim")
    t0 = time.perf_counter()
    rows = sample(model, a.prompts, a.n, steps, guidance, sampler, a.seed)
    seconds = (time.perf_counter() - t0) / (len(a.prompts) * a.n)
    contact_sheet(rows, a.prompts).save(a.output)
    print(f"{a.output}: step {m.get('trained_steps')} {sampler} {steps} steps cfg {guidance}")
    print(f"seconds per image (batched): {seconds:.4f}")


if __name__ == "__main__":
    main()
