"""Shared by the runtime benchmarks: a model to time, scripts beside it, thread settings."""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from gencode.models.catalog import WEIGHTS_DIR
from gencode.models.checkpoint import read_info, save_checkpoint
from gencode.models.unet import UNet, UNetConfig

SCENES = WEIGHTS_DIR / "scenes.safetensors"


def parser(doc: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc)
    p.add_argument("--steps", type=int, default=50, help="sampler steps per frame")
    p.add_argument("--frames", type=int, default=24)
    p.add_argument(
        "--threads",
        type=int,
        default=torch.get_num_threads(),
        help="torch threads (on a CPU shared with other jobs, 1 is steadier)",
    )
    p.add_argument("--repeats", type=int, default=2, help="timings per figure (the best is kept)")
    p.add_argument("--random", action="store_true", help="a random-weight UNet, not scenes")
    return p


def workdir(random_weights: bool) -> Path:
    """A temp folder holding model.safetensors: the trained scenes model, or a random default UNet."""
    folder = Path(tempfile.mkdtemp(prefix="gencode-bench-"))
    target = folder / "model.safetensors"
    if SCENES.exists() and not random_weights:
        shutil.copy(SCENES, target)
        return folder
    g = torch.Generator().manual_seed(0)
    net = UNet(UNetConfig())
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) / max(p[0].numel(), 1) ** 0.5)
    meta = {"vocabulary": ["dunes", "ocean"], "size_multiple": 4, "defaults": {"size": 32}}
    save_checkpoint(target, net.state_dict(), "diffusion", "unet", UNetConfig().to_dict(), meta)
    return folder


def guidance_of(folder: Path) -> float:
    return float(read_info(folder / "model.safetensors").meta.get("default_guidance", 3.0))


def best_time(fn: Callable[[], object], repeats: int) -> float:
    """The fastest of `repeats` timed calls (the least disturbed by other jobs)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def timed(path: Path, text: str, ex, out: Path) -> tuple[float, int]:
    """Seconds for a whole render of `text` written to `path` (check, compile, execute, write),
    and how many frames the sampler ran."""
    from gencode.render import render

    path.write_text(text)
    t0 = time.perf_counter()
    result = render(path, out, executor=ex)
    return time.perf_counter() - t0, result.summary.op("diffuse").frames
