"""Measuring the faces models: judge accuracy on fresh faces, attribute-edit success, the side
effects of each edit on every other attribute, sample grids.

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
from gencode.models.directions import LatentEdits, edit_latent, load_directions
from gencode.train import resumable as R

Render = Callable[[torch.Tensor], torch.Tensor]  # latents (B, D) -> images (B, 3, H, W) in [-1, 1]
FACES_MODELS = ("faces-gan", "faces-vae")
FRESH_SEED = 424_242  # faces no model was trained on
# Faces per model in the gate: a side effect is a share of the faces with (or without) glasses, a
# few dozen of 128, where one face is 2-3%; 512 measures it to about +-2%.
GATE_FACES = 512
# A continuous attribute (smile, skin, eye size) counts as changed by another attribute's edit when
# the judge reads it moved by more than this share of its range: a fifth of the way from the
# smallest eyes to the largest is a visible change, and well above the judge's own error.
SIDE_TOLERANCE = 0.2


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


def judged(judge: C.Classifier, images: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per judge head, what it sees in each face, (B,): yes/no for a binary head, the value's
    index for a categorical one, the level in units of its range for a continuous one."""
    heads = judge.cfg.heads
    seen = C.readings(heads, C.predict(judge, images))
    for h, spec in heads.items():
        if spec["kind"] == "categorical":
            seen[h] = seen[h].argmax(1)
        elif spec["kind"] != "continuous":
            seen[h] = seen[h] > 0.5  # logit > 0
    return seen


def side_effects(
    render: Render,
    judge: C.Classifier,
    directions: Mapping[str, torch.Tensor],
    z: torch.Tensor,
    amount: float = 1.0,
) -> dict[tuple[str, str], float]:
    """Per edit and other attribute, how often the edit changes what the judge sees of it.

    Each edit is applied at +amount and at -amount to every face (`edit z smile 1` as a script
    writes it). For a yes/no attribute the figure is the worse of 'added where it was not' (the
    share of faces without glasses that gain them) and 'removed where it was', over both signs;
    for a categorical one (hair) the share of faces whose value changes; for a continuous one
    the share whose level moves by more than SIDE_TOLERANCE of its range. Attributes of the edit's
    own group (hair_red's other colours) are not side effects.
    """
    heads = judge.cfg.heads
    before = judged(judge, render(z))
    out = {}
    for name in sorted(directions):
        own = C.head_of(name, heads)
        if own not in heads:
            continue
        worst: dict[str, float] = {}
        for sign in (1.0, -1.0):
            after = judged(judge, render(edit_latent(z, {name: sign * amount}, directions)))
            for h in heads:
                if h != own:
                    worst[h] = max(worst.get(h, 0.0), _changed(before[h], after[h]))
        out.update({(name, h): v for h, v in worst.items()})
    return out


def _changed(before: torch.Tensor, after: torch.Tensor, least: int = 4) -> float:
    """Share of faces whose judged value changed. A flag: per starting value (yes, no) the worse of
    the two (a group of fewer than `least` faces is too small to count); a categorical value: any
    change; a continuous level: a move of more than SIDE_TOLERANCE of its range."""
    if before.is_floating_point():
        return ((after - before).abs() > SIDE_TOLERANCE).float().mean().item()
    moved = before != after  # (B,)
    if before.dtype != torch.bool:
        return moved.float().mean().item()
    rates = [moved[g].float().mean().item() for g in (before, ~before) if int(g.sum()) >= least]
    return max(rates, default=0.0)


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


def shipped_renderers(
    paths: Mapping[str, Path] | None = None,
) -> dict[str, tuple[Render, LatentEdits, int]]:
    """(render, edits, latent size) of each faces model that exists: the shipped ones, or the
    checkpoints in `paths` (name -> file) where given."""
    paths = {n: WEIGHTS_DIR / f"{n}.safetensors" for n in FACES_MODELS} | dict(paths or {})
    out: dict[str, tuple[Render, LatentEdits, int]] = {}
    if paths["faces-gan"].exists():
        G = gan.load_generator(paths["faces-gan"])
        dim = G.latent_shape[0]
        out["faces-gan"] = (lambda z: gan.generate(G, z)), load_directions(paths["faces-gan"]), dim
    if paths["faces-vae"].exists():
        m = V.load_vae(paths["faces-vae"])
        render = lambda z: V.decode_latents(m, z)  # noqa: E731
        out["faces-vae"] = render, load_directions(paths["faces-vae"]), m.latent_shape[0]
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
        for amount in (1.0, 1.5):
            side = side_effects(render, judge, dirs, z, amount)
            worst = max(side, key=side.__getitem__)
            shown = ", ".join(f"{a}->{b} {v:.0%}" for (a, b), v in side.items() if v > 0.1)
            print(
                f"{name} side effects at +-{amount}: worst {worst[0]}->{worst[1]} "
                f"{side[worst]:.0%}; over 10%: {shown or 'none'}"
            )
        save_grid(render(z), out_dir / f"{name}-samples.png", cols=8)
        save_grid(edit_sheet(render, dirs, z[:2]), out_dir / f"{name}-edits.png", cols=7)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("runs/faces-report"))
