"""The op implementation registry: op name → torch function, filled by `@implements`.

Every implementation has one signature:

    fn(ctx: OpContext, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor

Values are tensors on `ctx.device`: an image is (3, H, W) float in [0, 1]; a sequence has a
leading frame axis (N, ...); a latent is the model's latent shape; a conditioning is (D,) or
model-shaped. Sequence ops must process frames in batches (chunks of `ctx.chunk` frames), never
one Python call per frame.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from gencode.graph import Node
from gencode.seeds import SEED_MAX

Impl = Callable[["OpContext", Node, list[torch.Tensor]], torch.Tensor]
IMPLS: dict[str, Impl] = {}


def implements(op: str) -> Callable[[Impl], Impl]:
    """Register the torch implementation of an op."""

    def register(fn: Impl) -> Impl:
        if op in IMPLS:
            raise ValueError(f"op {op!r} implemented twice")
        IMPLS[op] = fn
        return fn

    return register


class Cancelled(Exception):
    """A render was superseded or interrupted; raised at the next safe point."""


# Frames per batch for sequence ops unless the caller says otherwise (docs/stable-diffusion.md).
DEFAULT_CHUNK = 16


@dataclass
class OpContext:
    """What an op may use besides its inputs: device, models, files, progress, cancellation."""

    device: torch.device
    dtype: torch.dtype = torch.float32
    root_dir: Path = Path(".")  # the script's folder: `load` reads files relative to it
    chunk: int = DEFAULT_CHUNK  # frames per batch for sequence ops
    models: Any = None  # gencode.runtime.models.ModelCache: ModelRef params → loaded model
    progress: Callable[[str, int, int], None] | None = None  # (label, done, total)
    cancel: threading.Event = field(default_factory=threading.Event)

    def check_cancelled(self) -> None:
        """Call between steps or chunks: stops a stale render at a safe point."""
        if self.cancel.is_set():
            raise Cancelled()

    def generator(self, seed: int) -> torch.Generator:
        """A CPU generator for `seed`: noise is drawn on the CPU and moved, the same everywhere."""
        return torch.Generator("cpu").manual_seed(int(seed) % (SEED_MAX + 1))

    def report(self, label: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(label, done, total)
