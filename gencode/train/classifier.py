"""Training a judge: a recipe (family "classifier", dataset faces or scenes) -> a checkpoint.

The judge learns from a labelled procedural pool drawn from the recipe's seed (a seed the generators
never used) with light blur and noise, so it also reads the softer images generators make. Its
accuracy on a fresh set drawn from yet another seed is measured and kept in the checkpoint's meta.
Options: `render` paints the pool at another size than the judge reads (the scenes judge reads
64 px, learns from 128 px paintings and is validated on 256 px ones, the size generators draw at).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from gencode.data import dataset
from gencode.models import classifier as C
from gencode.models.checkpoint import save_checkpoint
from gencode.train import resumable as R

VALIDATION_SEED_OFFSET = 1_000_003  # fresh data: never the training pool's seed
CALIBRATION_SEED_OFFSET = 2_000_003  # fresh data for the multilabel thresholds


def heads_for(name: str) -> dict[str, dict[str, Any]]:
    """The heads a judge of a procedural dataset needs: its attributes, or a scene's subject, time
    of day and modifiers (any number of them)."""
    mod = dataset(name)
    if hasattr(mod, "ATTRIBUTES"):
        return {k: dict(v) for k, v in mod.ATTRIBUTES.items()}
    return {
        "subject": {"kind": "categorical", "values": list(mod.SUBJECTS)},
        "time": {"kind": "categorical", "values": list(mod.TIMES)},
        "modifiers": {"kind": "multilabel", "values": list(mod.MODIFIERS)},
    }


def resize(x: torch.Tensor, size: int, chunk: int = 1024) -> torch.Tensor:
    """uint8 images (N, 3, H, W) resized (antialiased, as the judge resizes) to size x size."""
    if x.shape[-1] == size:
        return x
    out = torch.empty((len(x), x.shape[1], size, size), dtype=torch.uint8)
    for i in range(0, len(x), chunk):
        y = F.interpolate(
            x[i : i + chunk].float(), size=(size, size), mode="bilinear", antialias=True
        )
        out[i : i + chunk] = y.round().clamp(0, 255).to(torch.uint8)
    return out


def labelled(
    name: str,
    n: int,
    seed: int,
    size: int,
    heads: dict,
    render: int | None = None,
    chunk: int = 2000,
) -> tuple[torch.Tensor, dict]:
    """n procedural images uint8 (N, 3, size, size), painted at `render` px, and per-head targets."""
    if not render or render == size:
        images, labels = dataset(name).generate(n, seed, size)
        return R.images_to_tensor(images), C.targets_from_labels(heads, labels)
    parts, labels = [], []
    for i in range(0, n, chunk):  # in chunks, so a big pool never holds its full-size paintings
        images, chunk_labels = dataset(name).generate(min(chunk, n - i), seed + i, render or size)
        parts.append(resize(R.images_to_tensor(images), size))
        labels += chunk_labels
    return torch.cat(parts), C.targets_from_labels(heads, labels)


def augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Random blur (a per-image mix with a 3x3 box blur) and pixel noise, (B, C, H, W)."""
    b = x.shape[0]
    blurred = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, 1)  # (B, C, H, W)
    mix = torch.rand(b, 1, 1, 1, generator=g) * (torch.rand(b, 1, 1, 1, generator=g) < 0.5)
    noise = torch.randn(x.shape, generator=g) * torch.rand(b, 1, 1, 1, generator=g) * 0.06
    return (x + mix * (blurred - x) + noise).clamp(-1, 1)


def evaluate(model: C.Classifier, x: torch.Tensor, y: dict) -> dict[str, float]:
    """Per head accuracy (continuous heads: above/below mid-range) and mean absolute error."""
    out = C.predict(model, R.to_unit(x))
    res = C.accuracy(model.cfg.heads, out, y)
    for name, spec in model.cfg.heads.items():
        if spec["kind"] == "continuous":
            res[f"{name}_mae"] = (out[name] - y[name]).abs().mean().item()
    return {k: round(v, 4) for k, v in res.items()}


def train(recipe: Any, *, resume: bool, progress: bool) -> Path:
    """Train the judge a recipe describes; write its checkpoint; return the checkpoint's path."""
    if recipe.threads:
        torch.set_num_threads(recipe.threads)
    heads = heads_for(recipe.dataset)
    cfg = C.ClassifierConfig(**{**recipe.model, "size": recipe.size, "heads": heads})
    model = R.init_seeded(recipe.seed, lambda: C.Classifier(cfg))
    ema = R.EMA(model, recipe.ema_decay)
    opt = torch.optim.AdamW(model.parameters(), recipe.lr, weight_decay=1e-4)
    g = torch.Generator().manual_seed(recipe.seed)
    pool_n = int(recipe.options.get("pool", 20000))
    render = recipe.options.get("render")
    x_pool, y_pool = labelled(recipe.dataset, pool_n, recipe.seed, recipe.size, heads, render)
    use_aug = bool(recipe.options.get("augment", True))

    def step(i: int) -> dict[str, float]:
        R.set_lr(opt, R.lr_at(recipe, i))
        idx = R.batch_indices(len(x_pool), recipe.batch, g)
        x = R.to_unit(x_pool[idx])
        x = augment(x, g) if use_aug else x
        losses = C.head_losses(heads, model(x), {k: v[idx] for k, v in y_pool.items()})
        loss = sum(losses.values())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if recipe.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.grad_clip)
        opt.step()
        ema.update(model)
        return {"loss": loss.item(), **{k: v.item() for k, v in losses.items()}}

    objects = {"model": model, "ema": ema.model, "opt": opt, "rng": g}
    R.run_steps(recipe, objects, step, resume=resume, progress=progress)
    return _finish(recipe, ema.model, heads)


@torch.no_grad()
def calibrate(
    model: C.Classifier, x: torch.Tensor, y: dict, false_rate: float = 0.01
) -> dict[str, float]:
    """Per value of each multilabel head, the lowest logit threshold (at most 0) that says "present"
    on at most `false_rate` of fresh images without it, folded into the head's bias so that
    "logit > 0" means present: small modifiers are otherwise missed more often than needed."""
    out = C.predict(model, R.to_unit(x))
    grid = torch.linspace(-6, 4, 41)
    shifts = {}
    for name, spec in model.cfg.heads.items():
        if spec["kind"] != "multilabel":
            continue
        for i, value in enumerate(spec["values"]):
            logit, present = out[name][:, i], y[name][:, i] > 0.5
            if present.all() or not present.any():
                continue
            false = (logit[~present, None] > grid[None]).float().mean(0)  # (T,) falls as t rises
            t = min(0.0, float(grid[int((false > false_rate).sum())].clamp(max=0)))
            model.heads[name].bias[i] -= t
            shifts[f"{name}/{value}"] = round(t, 2)
    return shifts


def _finish(recipe: Any, model: C.Classifier, heads: dict) -> Path:
    """Set multilabel thresholds on fresh data, measure accuracy on other fresh data, and write
    the checkpoint."""
    model.eval()
    thresholds = {}
    if n_cal := int(recipe.options.get("calibration", 0)):
        render = recipe.options.get("validation_render", recipe.options.get("render"))
        seed = recipe.seed + CALIBRATION_SEED_OFFSET
        x_cal, y_cal = labelled(recipe.dataset, n_cal, seed, recipe.size, heads, render)
        thresholds = calibrate(model, x_cal, y_cal)
    n_val = int(recipe.options.get("validation", 2000))
    render = recipe.options.get("validation_render", recipe.options.get("render"))
    seed = recipe.seed + VALIDATION_SEED_OFFSET
    x_val, y_val = labelled(recipe.dataset, n_val, seed, recipe.size, heads, render)
    acc = evaluate(model, x_val, y_val)
    meta = {
        "dataset": recipe.dataset,
        "size": recipe.size,
        "heads": heads,
        "validation": {"n": n_val, "seed": seed, "render": render or recipe.size, **acc},
        "thresholds": thresholds,
        "recipe": {"name": recipe.name, "seed": recipe.seed, "steps": recipe.steps},
    }
    path = recipe.output_path
    save_checkpoint(
        path,
        R.prefixed("classifier", model),
        "classifier",
        recipe.arch,
        C.config_dict(model.cfg),
        meta,
    )
    R.log_line(recipe.run_path, {"validation": acc})
    return path
