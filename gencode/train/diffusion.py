"""Diffusion training (DDPM ε-loss): a Recipe → a safetensors checkpoint of the EMA weights.

Every random draw of step k comes from generators seeded by (recipe.seed, k), so the run is
reproducible and `--resume` from a saved state continues bit-exactly.
"""

from __future__ import annotations

import copy
import math
import os
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from gencode.models.checkpoint import save_checkpoint
from gencode.models.unet import UNet, UNetConfig
from gencode.samplers.schedules import alphas_cumprod
from gencode.train.datasets import TrainData, load_data, step_seed
from gencode.train.progress import Progress
from gencode.train.recipe import Recipe

STATE_FILE = "state.pt"
# Sampling defaults stored in the checkpoint; a recipe's [diffusion] table may override them.
DEFAULT_OPTIONS: dict[str, Any] = {
    "schedule": "linear",
    "timesteps": 1000,
    "default_steps": 20,
    "default_guidance": 3.0,
    "default_sampler": "ddim",
    "spacing": "trailing",
}


def options(recipe: Recipe) -> dict[str, Any]:
    """The recipe's [diffusion] table over the defaults; unknown keys are an error."""
    bad = sorted(set(recipe.options) - set(DEFAULT_OPTIONS))
    if bad:
        raise ValueError(f"{recipe.source}: unknown key(s) in [diffusion]: {', '.join(bad)}")
    return {**DEFAULT_OPTIONS, **recipe.options}


def build_model(recipe: Recipe, data: TrainData) -> UNet:
    """The UNet of a recipe, its vocabulary sized to the data's; seeded from the recipe."""
    cfg = UNetConfig.from_dict({**recipe.model, "vocab_size": max(1, len(data.vocabulary))})
    if recipe.size % cfg.size_multiple:
        raise ValueError(
            f"{recipe.source}: size {recipe.size} is not a multiple of {cfg.size_multiple}"
        )
    torch.manual_seed(recipe.seed)  # weight init is the only use of the global RNG, seeded here
    return UNet(cfg)


def learning_rate(recipe: Recipe, step: int) -> float:
    """Linear warm-up, then constant or cosine decay to 10% at the last step."""
    if step < recipe.warmup:
        return recipe.lr * (step + 1) / recipe.warmup
    if recipe.lr_decay == "none":
        return recipe.lr
    progress = min(1.0, (step - recipe.warmup) / max(1, recipe.steps - recipe.warmup))
    return recipe.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def train_step(
    model: UNet,
    opt: torch.optim.Optimizer,
    recipe: Recipe,
    data: TrainData,
    ac: torch.Tensor,
    step: int,
) -> float:
    """One optimiser step on a fresh batch; returns the loss."""
    images, captions = data.batch(recipe.seed, step, recipe.batch)
    x0 = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1  # (B, 3, H, W)
    g = torch.Generator().manual_seed(step_seed(recipe.seed + 1, step))
    t = torch.randint(0, len(ac), (x0.shape[0],), generator=g)  # (B,)
    noise = torch.randn(x0.shape, generator=g)  # (B, 3, H, W)
    keep = torch.rand(x0.shape[0], generator=g) >= recipe.prompt_dropout  # (B,)
    ids = [data.word_ids(c) if k else [] for c, k in zip(captions, keep.tolist(), strict=True)]
    a = ac[t].float()[:, None, None, None]  # (B, 1, 1, 1)
    x_t = a.sqrt() * x0 + (1 - a).sqrt() * noise  # (B, 3, H, W)
    eps_pred = model.config.prediction == "eps"
    target = noise if eps_pred else a.sqrt() * noise - (1 - a).sqrt() * x0
    autocast = torch.autocast("cpu", torch.bfloat16) if recipe.autocast_bf16 else nullcontext()
    with autocast:
        pred = model(x_t, t.float(), model.encode_prompt(ids))  # (B, 3, H, W)
    loss = F.mse_loss(pred.float(), target)
    for group in opt.param_groups:
        group["lr"] = learning_rate(recipe, step)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.grad_clip)
    opt.step()
    return loss.item()


@torch.no_grad()
def ema_update(ema: UNet, model: UNet, decay: float, step: int) -> None:
    """EMA of the weights, with the usual warm-up so early averages are not stuck at init."""
    d = min(decay, (1 + step) / (10 + step))
    for pe, p in zip(ema.parameters(), model.parameters(), strict=True):
        pe.lerp_(p, 1 - d)
    for be, b in zip(ema.buffers(), model.buffers(), strict=True):
        be.copy_(b)


def save_state(path: Path, step: int, model: UNet, ema: UNet, opt: torch.optim.Optimizer) -> None:
    """Everything needed to resume, written atomically (temp file, fsync, rename)."""
    state = {
        "step": step,
        "model": model.state_dict(),
        "ema": ema.state_dict(),
        "opt": opt.state_dict(),
        "torch_rng": torch.get_rng_state(),  # unused by the loop, kept so nothing is lost
    }
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    torch.save(state, tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_state(path: Path, model: UNet, ema: UNet, opt: torch.optim.Optimizer) -> int:
    """Restore a saved state in place; returns the step to continue from."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state["model"])
    ema.load_state_dict(state["ema"])
    opt.load_state_dict(state["opt"])
    torch.set_rng_state(state["torch_rng"])
    return int(state["step"])


def export(recipe: Recipe, data: TrainData, ema: UNet, step: int) -> str:
    """Write the EMA weights with their config and metadata to the recipe's output; its sha256."""
    opts = options(recipe)
    meta = {
        "vocabulary": data.vocabulary,
        "aliases": data.aliases,
        "fillers": data.ignored,  # words neither known nor worth a warning ("scene", "sky")
        "size": recipe.size,
        "size_multiple": ema.config.size_multiple,
        "schedule": opts["schedule"],
        "timesteps": opts["timesteps"],
        "spacing": opts["spacing"],
        "prediction": ema.config.prediction,
        "default_steps": opts["default_steps"],
        "default_guidance": opts["default_guidance"],
        "default_sampler": opts["default_sampler"],
        # What the checker fills in for settings a script leaves unset (gencode.settings).
        "defaults": {
            "steps": opts["default_steps"],
            "guidance": opts["default_guidance"],
            "sampler": opts["default_sampler"],
            "size": recipe.size,
        },
        "latent_channels": ema.config.image_channels,  # pixel space: the "latent" is the image
        "latent_scale": 1,
        "dataset": recipe.dataset,
        "recipe": recipe.name,
        "seed": recipe.seed,
        "trained_steps": step,
    }
    return save_checkpoint(
        recipe.output_path,
        ema.state_dict(),
        family="diffusion",
        arch="unet",
        config=ema.config.to_dict(),
        meta=meta,
    )


@dataclass
class Session:
    """What one training session works on: data, schedule, model, its EMA and optimiser."""

    recipe: Recipe
    data: TrainData
    ac: torch.Tensor  # (T,) the training schedule's ā_t
    model: UNet
    ema: UNet
    opt: torch.optim.Optimizer
    state_path: Path


def prepare(recipe: Recipe, resume: bool) -> tuple[Session, int]:
    """A session for a recipe, restored from its run dir when resuming; and the step to start at."""
    if recipe.threads:
        torch.set_num_threads(recipe.threads)
    data = load_data(recipe.dataset, recipe.size)
    opts = options(recipe)
    model = build_model(recipe, data)
    ema = copy.deepcopy(model).requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=0.0)
    recipe.run_path.mkdir(parents=True, exist_ok=True)
    state_path = recipe.run_path / STATE_FILE
    ac = alphas_cumprod(opts["schedule"], opts["timesteps"])
    s = Session(recipe, data, ac, model, ema, opt, state_path)
    if resume and state_path.exists():
        return s, load_state(state_path, model, ema, opt)
    if state_path.exists():
        raise FileExistsError(
            f"{recipe.run_path} already holds a run: pass --resume, or use another --run-dir"
        )
    return s, 0


def train(
    recipe: Recipe, *, resume: bool = False, progress: bool = True, stop_at: int | None = None
) -> Path:
    """Train (or resume) a diffusion model from a recipe; returns the exported checkpoint.

    stop_at ends this session early at that step, state saved, as an interruption would.
    """
    s, start = prepare(recipe, resume)
    end = min(recipe.steps, stop_at or recipe.steps)
    bar = Progress(recipe, start, recipe.run_path / "train.log", enabled=progress)
    try:
        for step in range(start, end):
            t0 = time.perf_counter()
            loss = train_step(s.model, s.opt, recipe, s.data, s.ac, step)
            ema_update(s.ema, s.model, recipe.ema_decay, step)
            bar.update(step, loss, time.perf_counter() - t0, learning_rate(recipe, step))
            done = step + 1
            if done % recipe.checkpoint_every == 0 or done == end:
                save_state(s.state_path, done, s.model, s.ema, s.opt)
                sha = export(recipe, s.data, s.ema, done)
                bar.note(f"checkpoint at step {done}: {recipe.output_path} sha256 {sha[:12]}")
    finally:
        bar.close()
    if start >= end:
        export(recipe, s.data, s.ema, start)
    return recipe.output_path
