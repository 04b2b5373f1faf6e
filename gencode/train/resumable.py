"""Pieces shared by the GAN, VAE and classifier trainers: a fixed image pool drawn from a seed,
batches from an explicit generator, EMA weights, and atomic training state for exact resumes.

A run's state (models, optimizers, EMA, the batch generator's state, the step) is one torch file
written atomically; resuming rebuilds the same pool from the seed and continues bit for bit.
"""

from __future__ import annotations

import copy
import json
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

STATE_FILE = "state.pt"


def images_to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> uint8 (N, 3, H, W); kept as bytes so big pools stay small."""
    return torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """uint8 images -> float in [-1, 1]."""
    return x.float() / 127.5 - 1.0


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """float images (B, 3, H, W) in [-1, 1] -> uint8 (B, H, W, 3)."""
    y = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return y.permute(0, 2, 3, 1).cpu().numpy()


def batch_indices(n: int, batch: int, generator: torch.Generator) -> torch.Tensor:
    """`batch` random indices into a pool of n, drawn from the run's own generator."""
    return torch.randint(0, n, (batch,), generator=generator)


class EMA:
    """An exponential moving average of a module's weights (buffers such as BN stats are copied)."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        for e, p in zip(self.model.parameters(), model.parameters(), strict=True):
            e.lerp_(p.detach(), 1 - self.decay)
        for e, b in zip(self.model.buffers(), model.buffers(), strict=True):
            e.copy_(b)


def save_state(run_dir: Path, state: dict[str, Any]) -> None:
    """Write the training state atomically (temp file, fsync, rename): never half a state."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / STATE_FILE
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def load_state(run_dir: Path) -> dict[str, Any] | None:
    """The saved training state of a run, or None; loaded without unpickling code."""
    path = run_dir / STATE_FILE
    if not path.exists():
        return None
    return torch.load(path, map_location="cpu", weights_only=True)


def lr_at(recipe: Any, step: int) -> float:
    """The recipe's learning rate at a step: linear warm-up, then constant or cosine to 10%."""
    if step < recipe.warmup:
        return recipe.lr * (step + 1) / recipe.warmup
    if recipe.lr_decay == "none":
        return recipe.lr
    t = (step - recipe.warmup) / max(1, recipe.steps - recipe.warmup)
    return recipe.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    """Set every parameter group's learning rate."""
    for group in opt.param_groups:
        group["lr"] = lr


def log_line(run_dir: Path, record: dict[str, Any]) -> None:
    """Append one JSON line to the run's log (losses and the like)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "log.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(record, sort_keys=True) + "\n")


def prefixed(prefix: str, module: nn.Module) -> dict[str, torch.Tensor]:
    """A module's state dict with every key under `prefix.`, for checkpoints."""
    return {f"{prefix}.{k}": v for k, v in module.state_dict().items()}


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, latents: torch.Tensor, batch: int = 256) -> None:
    """Reset BatchNorm running stats to exact averages over `latents` (EMA weights lack them)."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the calls below
    model.train()
    for z in latents.split(batch):
        model(z)
    for m in norms:
        m.momentum = 0.1
    model.eval()


def _capture(objects: dict[str, Any], step: int, fingerprint: dict[str, Any]) -> dict[str, Any]:
    """What an exact resume needs: each object's state, the step, the recipe's identity."""
    state: dict[str, Any] = {"step": step, "fingerprint": json.dumps(fingerprint, sort_keys=True)}
    for name, obj in objects.items():
        state[name] = obj.get_state() if isinstance(obj, torch.Generator) else obj.state_dict()
    return state


def _restore(objects: dict[str, Any], state: dict[str, Any], fingerprint: dict[str, Any]) -> int:
    """Load a saved state into the objects; the step to continue from."""
    if _untrained_dropped(state.get("fingerprint")) != json.dumps(fingerprint, sort_keys=True):
        raise ValueError("the saved run was made by a different recipe; train without --resume")
    for name, obj in objects.items():
        if isinstance(obj, torch.Generator):
            obj.set_state(state[name])
        else:
            obj.load_state_dict(state[name])
    return int(state["step"])


# Options that do not change what the steps train, so a resumed run may differ in them: where the
# result goes (`into`), and how the finished network's edits are fitted (a generator's attribute
# edits are fitted after its last step, and may be refitted with --refit-from).
UNTRAINED_OPTIONS = ("into", "judge", "direction_samples", "bn_samples", "disentangle")


def _untrained_dropped(saved: str | None) -> str | None:
    """A saved fingerprint without the options that do not change the training steps (states
    saved before they were left out carry them)."""
    try:
        fp = json.loads(saved or "")
    except ValueError:
        return saved
    if isinstance(fp, dict) and isinstance(fp.get("options"), dict):
        fp["options"] = {k: v for k, v in fp["options"].items() if k not in UNTRAINED_OPTIONS}
    return json.dumps(fp, sort_keys=True)


def fingerprint(recipe: Any) -> dict[str, Any]:
    """The recipe fields a resumed run must share with the saved one."""
    keys = ("family", "arch", "dataset", "model", "size", "batch", "seed")
    fp = {k: getattr(recipe, k) for k in keys}
    # Where the result goes and how edits are fitted are not what is trained: a finished stage
    # may be pointed elsewhere (`into`), or given a new judge, and resumed to finish again.
    fp["options"] = {k: v for k, v in recipe.options.items() if k not in UNTRAINED_OPTIONS}
    return fp


def run_steps(
    recipe: Any,
    objects: dict[str, Any],
    step_fn: Callable[[int], dict[str, float]],
    *,
    resume: bool,
    progress: bool,
) -> None:
    """Call step_fn(step) up to recipe.steps, saving `objects` every checkpoint_every steps."""
    run_dir, fp = recipe.run_path, fingerprint(recipe)
    state = load_state(run_dir) if resume else None
    start = _restore(objects, state, fp) if state is not None else 0
    if start == 0 and (run_dir / "log.jsonl").exists():
        (run_dir / "log.jsonl").unlink()  # a fresh run starts a fresh log
    tty = sys.stderr.isatty()  # in a log file, a line per 30 s instead of a redraw per step
    bar = tqdm(
        total=recipe.steps,
        initial=start,
        desc=recipe.name,
        disable=not progress,
        mininterval=1.0 if tty else 30.0,
    )
    for step in range(start, recipe.steps):
        losses = step_fn(step)
        bar.update(1)
        done = step + 1
        if done % recipe.log_every == 0 or done == recipe.steps:
            bar.set_postfix({k: f"{v:.4g}" for k, v in losses.items()})
            log_line(run_dir, {"step": done, **losses})
        if done % recipe.checkpoint_every == 0 or done == recipe.steps:
            save_state(run_dir, _capture(objects, done, fp))
    bar.close()


def init_seeded(seed: int, build: Callable[[], Any]) -> Any:
    """Build modules with their default init drawn from `seed`, leaving the global RNG as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def procedural_pool(recipe: Any) -> tuple[torch.Tensor, list[dict]]:
    """`pool` procedural training images uint8 (N, 3, H, W) from the seed, and their labels."""
    from gencode.data import dataset

    n = int(recipe.options.get("pool", 20000))
    images, labels = dataset(recipe.dataset).generate(n, recipe.seed, recipe.size)
    return images_to_tensor(images), labels


def image_pool(recipe: Any) -> torch.Tensor:
    """Training images uint8 (N, 3, H, W): `pool` procedural ones from the seed, or a folder's."""
    from gencode.data import DATASETS

    if recipe.dataset in DATASETS:
        return procedural_pool(recipe)[0]
    from gencode.train.datasets import load_data

    return images_to_tensor(load_data(recipe.dataset, recipe.size).images)


def check_config(recipe: Any, source: Path, config: dict[str, Any]) -> None:
    """Refuse to finish a checkpoint whose model is not the one the recipe describes."""
    from gencode.models.checkpoint import read_info

    info = read_info(source)
    if info.family != recipe.family:
        raise ValueError(f"{source}: a {info.family} checkpoint, not a {recipe.family} one")
    theirs = info.config
    if theirs != config:
        diff = sorted(k for k in {*theirs, *config} if theirs.get(k) != config.get(k))
        raise ValueError(
            f"{source}: its model differs from recipe {recipe.name}'s in {', '.join(diff)}"
        )


def grow(model: nn.Module, old: dict[str, torch.Tensor], from_end: tuple[str, ...] = ()) -> int:
    """Progressive growing: start `model` from a smaller model's state `old`, part by part (each
    top-level child), layer by layer from the latent side, as far as the two keep the same
    shapes; the rest keeps its fresh init. Parts named in `from_end` meet the latent at their end
    (an encoder: a larger image adds layers at its start). Returns the tensors taken."""
    state = model.state_dict()
    taken: dict[str, torch.Tensor] = {}
    for part, _ in model.named_children():
        mine, theirs = _layers(state, part), _layers(old, part)
        if part in from_end:
            mine, theirs = mine[::-1], theirs[::-1]
        for a, b in zip(mine, theirs, strict=False):
            same = [k.rsplit(".", 1)[1] for k in a] == [k.rsplit(".", 1)[1] for k in b]
            if not same or any(a[k].shape != b[j].shape for k, j in zip(a, b, strict=True)):
                break
            taken |= {k: b[j] for k, j in zip(a, b, strict=True)}
    model.load_state_dict({**state, **taken})
    return len(taken)


def _layers(state: dict[str, torch.Tensor], part: str) -> list[dict[str, torch.Tensor]]:
    """The tensors under a part's name, grouped by layer, in order."""
    layers: dict[str, dict[str, torch.Tensor]] = {}
    for k, v in state.items():
        if k.startswith(part + ".") or k == part:
            layers.setdefault(k.rsplit(".", 1)[0], {})[k] = v
    return list(layers.values())
