"""The gallery in docs/: a contact sheet of every shipped model's outputs, per prompt / attribute.

    python bench/gallery.py            # writes docs/gallery-scenes.png, docs/faces-*.png

Prints the seconds it took on its last line.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from sample_grid import DEFAULT_PROMPTS as PROMPTS
from sample_grid import contact_sheet, sample

from gencode.models.diffusion import load_diffusion
from gencode.train.faces_report import FRESH_SEED, edit_sheet, save_grid, shipped_renderers

DOCS = Path(__file__).resolve().parent.parent / "docs"
WEIGHTS = Path(__file__).resolve().parent.parent / "gencode" / "weights"


def main() -> None:
    t0 = time.perf_counter()
    torch.set_num_threads(2)
    model = load_diffusion(WEIGHTS / "scenes.safetensors")
    m = model.meta
    rows = sample(
        model,
        PROMPTS,
        8,
        int(m.get("default_steps", 20)),
        float(m.get("default_guidance", 2.5)),
        m.get("default_sampler", "ddim"),
        seed=7,
    )
    contact_sheet(rows, PROMPTS).save(DOCS / "gallery-scenes.png")
    for name, (render, dirs, dim) in shipped_renderers().items():
        z = torch.randn(16, dim, generator=torch.Generator().manual_seed(FRESH_SEED))
        save_grid(render(z), DOCS / f"gallery-{name}.png", cols=8)
        save_grid(edit_sheet(render, dirs, z[:1]), DOCS / f"gallery-{name}-edits.png", cols=7)
    print(f"gallery written to {DOCS} in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
