"""The pictures in docs/: a contact sheet of every shipped model's outputs, per prompt / attribute,
and the README's renders of sketches/card.gen and sketches/flight.gen, through `gencode.render`.

    python bench/gallery.py   # docs/gallery-scenes.png, docs/gallery-faces-*.png, card.png, flight.gif
    python bench/gallery.py --faces   # docs/gallery-faces-*.png only

Prints the seconds it took on its last line.
"""

from __future__ import annotations

import argparse
import time

if __name__ == "__main__":  # --help prints and exits before torch loads or a picture is written
    _ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], epilog="Rewrites the pictures in docs/."
    )
    _ap.add_argument("--faces", action="store_true", help="only the faces models' sheets")
    FACES_ONLY = _ap.parse_args().faces
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from sample_grid import contact_sheet

import gencode
from gencode.train.faces_report import FRESH_SEED, edit_sheet, save_grid, shipped_renderers
from gencode.train.gate_render import render_prompts

DOCS = Path(__file__).resolve().parent.parent / "docs"
ROOT = Path(__file__).resolve().parent.parent
WEIGHTS = ROOT / "gencode" / "weights"


def readme_pictures() -> None:
    """docs/card.png (the still, then every third frame of the walk) and docs/flight.gif."""
    card = gencode.render(ROOT / "sketches" / "card.gen", write=False)
    tiles = [card.array("diffuse-dunes"), *card.array("interpolate-dunes")[::3]]
    gap, margin = 16, 8
    size = 192  # tiles of a 256 px card, each at 192 px: the row fits a README column
    sheet = Image.new("RGB", (2 * margin + len(tiles) * size + (len(tiles) - 1) * gap + 2 * gap, size + 2 * margin), "white")  # fmt: skip
    x = margin
    for i, tile in enumerate(tiles):
        sheet.paste(Image.fromarray(tile).resize((size, size), Image.LANCZOS), (x, margin))
        x += size + (3 * gap if i == 0 else gap)  # the still stands apart from the walk
    sheet.save(DOCS / "card.png")
    flight = gencode.render(ROOT / "sketches" / "flight.gen", write=False)
    frames = flight.array(flight.names[0])
    first, *rest = (Image.fromarray(f) for f in frames)
    fps = flight.graph.outputs[0].fps or 12
    first.save(DOCS / "flight.gif", save_all=True, append_images=rest, duration=1000 / fps, loop=0)


SCENE_PROMPTS = [
    "dunes at dusk",
    "lake with mist at dawn",
    "city in the snow at night",
    "volcano at night",
    "mountains under the aurora",
    "island at day",
    "forest in autumn",
    "ocean in a storm",
    "canyon at noon",
    "meadow with a rainbow",
    "stars and the moon",
    "clouds at sunset",
]


def scenes_gallery(n: int = 6) -> None:
    """docs/gallery-scenes.png: one row per prompt, n seeds, 256 px at the model's defaults,
    rendered through gencode.render as a script would."""
    images = render_prompts("scenes", [p for p in SCENE_PROMPTS for _ in range(n)], 7, 256)
    rows = images.reshape(len(SCENE_PROMPTS), n, *images.shape[1:])
    contact_sheet(rows, SCENE_PROMPTS, scale=1, label_w=190).save(DOCS / "gallery-scenes.png")


def autoencoder_sheet(n: int = 6) -> None:
    """docs/gallery-autoencoder.png: fresh procedural images (top) and the scenes model's
    autoencoder reconstructions (bottom), 256 px."""
    from gencode.data import scenes
    from gencode.models.latent_diffusion import load_latent_diffusion

    model = load_latent_diffusion(WEIGHTS / "scenes.safetensors")
    images, _ = scenes.generate(n, 31337, 256)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    rec = (model.to_image(model.to_latent(x)) * 255).round().byte().permute(0, 2, 3, 1).numpy()
    rows = np.stack([images, rec])
    contact_sheet(rows, ["painted", "decoded"], scale=1, label_w=80).save(
        DOCS / "gallery-autoencoder.png"
    )


def faces_gallery() -> None:
    """docs/gallery-faces-*.png: 16 samples per faces model, and its edits of two faces (a row per
    attribute and face, amounts -1.5 to +1.5; yes/no edits stop at the typical face)."""
    for name, (render, dirs, dim) in shipped_renderers().items():
        z = torch.randn(16, dim, generator=torch.Generator().manual_seed(FRESH_SEED))
        scale = max(1, 96 // int(render(z[:1]).shape[-1]))  # 32 px faces at 3x, 64 px at 1x
        save_grid(render(z), DOCS / f"gallery-{name}.png", cols=8, scale=scale)
        save_grid(edit_sheet(render, dirs, z[:2]), DOCS / f"gallery-{name}-edits.png", 7, scale)


def main(faces_only: bool = False) -> None:
    t0 = time.perf_counter()
    torch.set_num_threads(2)
    if not faces_only:
        scenes_gallery()
        autoencoder_sheet()
    faces_gallery()
    if not faces_only:
        readme_pictures()
    print(f"gallery written to {DOCS} in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main(FACES_ONLY)
