"""Measuring the faces models: judge accuracy on fresh faces, attribute-edit success, sample grids.

`python -m gencode.train.faces_report [OUT_DIR]` prints the figures for the shipped checkpoints and
writes sample and edit grids (PNG) to OUT_DIR (default runs/faces-report).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import torch

from gencode.models import classifier as C
from gencode.models import gan
from gencode.models import vae as V
from gencode.models.catalog import WEIGHTS_DIR
from gencode.models.directions import edit_latent, load_directions
from gencode.train import resumable as R

Render = Callable[[torch.Tensor], torch.Tensor]  # latents (B, D) -> images (B, 3, H, W) in [-1, 1]
FRESH_SEED = 424_242  # faces no model was trained on


def edit_success(
    render: Render,
    judge: C.Classifier,
    directions: Mapping[str, torch.Tensor],
    z: torch.Tensor,
    amount: float = 1.0,
    toggle: bool = True,
) -> dict[str, float]:
    """Per attribute, the share of edits that move the judge's score the way they should.

    toggle: each face gets the edit that changes it (add glasses where the judge sees none,
    remove them where it sees some), the way an artist uses `edit`; else every face gets +amount.
    """
    out = C.predict(judge, render(z))
    before, has = C.scores(judge, out), C.binary_labels(judge.cfg.heads, out, logits=True)
    rates = {}
    for name in sorted(directions):
        if name not in before:
            continue  # a direction the judge cannot score
        sign = torch.where(has[name], -1.0, 1.0) if toggle else torch.ones(len(z))  # (B,)
        up = edit_latent(z, {name: amount}, directions)  # (B, D)
        down = edit_latent(z, {name: -amount}, directions)
        edited = torch.where(sign[:, None] > 0, up, down)
        after = C.scores(judge, C.predict(judge, render(edited)))
        rates[name] = ((after[name] - before[name]) * sign > 0).float().mean().item()
    return rates


def judge_accuracy(path: Path, n: int = 4000, seed: int = FRESH_SEED) -> dict[str, float]:
    """A judge checkpoint's accuracy per head on n fresh procedural images."""
    from gencode.models.checkpoint import read_info
    from gencode.train.classifier import evaluate, labelled

    model = C.load_classifier(path)
    name = read_info(path).meta["dataset"]
    x, y = labelled(name, n, seed, model.cfg.size, model.cfg.heads)
    return evaluate(model, x, y)


def save_grid(images: torch.Tensor, path: Path, cols: int, scale: int = 3) -> None:
    """Images (N, 3, H, W) in [-1, 1] as one PNG contact sheet, enlarged by `scale`."""
    from PIL import Image

    arr = R.to_uint8(images)  # (N, H, W, 3)
    n, h, w, _ = arr.shape
    rows = -(-n // cols)
    sheet = torch.zeros(rows * h, cols * w, 3, dtype=torch.uint8).numpy()
    for i in range(n):
        r, c = divmod(i, cols)
        sheet[r * h : (r + 1) * h, c * w : (c + 1) * w] = arr[i]
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(sheet)
    img.resize((img.width * scale, img.height * scale), Image.NEAREST).save(path)


def edit_sheet(
    render: Render, directions: Mapping[str, torch.Tensor], z: torch.Tensor
) -> torch.Tensor:
    """Per attribute and per latent, a row of edits from -1.5 to +1.5 (rows x 7 images)."""
    amounts = (-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5)
    rows = []
    for name in sorted(directions):
        for one in z.split(1):
            zs = torch.cat([edit_latent(one, {name: a}, directions) for a in amounts])
            rows.append(render(zs))
    return torch.cat(rows)


def shipped_renderers() -> dict[str, tuple[Render, dict[str, torch.Tensor], int]]:
    """(render, directions, latent size) of each shipped faces model that exists."""
    out = {}
    path = WEIGHTS_DIR / "faces-gan.safetensors"
    if path.exists():
        G = gan.load_generator(path)
        out["faces-gan"] = (lambda z: gan.generate(G, z)), load_directions(path), G.latent_shape[0]
    path = WEIGHTS_DIR / "faces-vae.safetensors"
    if path.exists():
        m = V.load_vae(path)
        out["faces-vae"] = (
            (lambda z: V.decode_latents(m, z)),
            load_directions(path),
            m.latent_shape[0],
        )
    return out


def main(out_dir: Path) -> None:
    """Print every figure and write the grids."""
    for name in ("faces-judge", "scenes-judge"):
        path = WEIGHTS_DIR / f"{name}.safetensors"
        if path.exists():
            print(f"{name} accuracy on fresh data: {judge_accuracy(path)}")
    judge = C.load_classifier(WEIGHTS_DIR / "faces-judge.safetensors")
    for name, (render, dirs, dim) in shipped_renderers().items():
        z = torch.randn(64, dim, generator=torch.Generator().manual_seed(FRESH_SEED))
        for toggle in (True, False):
            rates = edit_success(render, judge, dirs, z, 1.0, toggle)
            shown = ", ".join(f"{k} {v:.0%}" for k, v in rates.items())
            how = "toggling each face" if toggle else "+1 on every face"
            print(f"{name} edits ({how}): right way in {shown} (of 64)")
        save_grid(render(z), out_dir / f"{name}-samples.png", cols=8)
        save_grid(edit_sheet(render, dirs, z[:2]), out_dir / f"{name}-edits.png", cols=7)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("runs/faces-report"))
