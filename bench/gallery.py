"""The pictures in docs/: a contact sheet of every shipped model's outputs, per prompt / attribute,
and the README's renders of sketches/card.gen and sketches/flight.gen, through `gencode.render`.

    python bench/gallery.py   # docs/gallery-scenes.png, docs/gallery-faces-*.png, card.png, flight.gif

Prints the seconds it took on its last line.
"""

from __future__ import annotations

import argparse
import time

if __name__ == "__main__":  # --help prints and exits before torch loads or a picture is written
    argparse.ArgumentParser(
        description=__doc__.splitlines()[0], epilog="Rewrites the pictures in docs/."
    ).parse_args()
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from sample_grid import DEFAULT_PROMPTS as PROMPTS
from sample_grid import contact_sheet, sample

import gencode
from gencode.models.diffusion import load_diffusion
from gencode.train.faces_report import FRESH_SEED, edit_sheet, save_grid, shipped_renderers

DOCS = Path(__file__).resolve().parent.parent / "docs"
ROOT = Path(__file__).resolve().parent.parent
WEIGHTS = ROOT / "gencode" / "weights"


def readme_pictures() -> None:
    """docs/card.png (the still, then every third frame of the walk) and docs/flight.gif."""
    card = gencode.render(ROOT / "sketches" / "card.gen", write=False)
    tiles = [card.array("diffuse-dunes"), *card.array("interpolate-dunes")[::3]]
    scale, gap, margin = 4, 16, 8
    size = tiles[0].shape[0] * scale
    sheet = Image.new("RGB", (2 * margin + len(tiles) * size + (len(tiles) - 1) * gap + 2 * gap, size + 2 * margin), "white")  # fmt: skip
    x = margin
    for i, tile in enumerate(tiles):
        sheet.paste(Image.fromarray(tile).resize((size, size), Image.NEAREST), (x, margin))
        x += size + (3 * gap if i == 0 else gap)  # the still stands apart from the walk
    sheet.save(DOCS / "card.png")
    flight = gencode.render(ROOT / "sketches" / "flight.gen", write=False)
    frames = np.repeat(np.repeat(flight.array(flight.names[0]), 3, axis=1), 3, axis=2)
    first, *rest = (Image.fromarray(f) for f in frames)
    fps = flight.graph.outputs[0].fps or 12
    first.save(DOCS / "flight.gif", save_all=True, append_images=rest, duration=1000 / fps, loop=0)


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
    readme_pictures()
    print(f"gallery written to {DOCS} in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
