"""The op implementations: op name → torch function, as the op table names them.

Every implementation has one signature:

    fn(ctx: OpContext, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor

Values are tensors on `ctx.device`: an image is (3, H, W) float in [0, 1]; a sequence has a
leading frame axis (N, ...); a latent is the model's latent shape; a conditioning is (D,) or
model-shaped. Sequence ops must process frames in batches (chunks of `ctx.chunk` frames), never
one Python call per frame.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from gencode.graph import Node
from gencode.ops.table import OPS, resolve
from gencode.seeds import SEED_MAX

Impl = Callable[["OpContext", Node, list[torch.Tensor]], torch.Tensor]


def implementation(op: str) -> Impl | None:
    """The torch function of an op (None: an unknown op, or one that expands into others)."""
    ref = OPS[op].impl if op in OPS else None
    return resolve(ref) if ref else None


class _Implementations(Mapping[str, Impl]):
    """Op name → torch function for every op the table gives an implementation (read-only)."""

    def __getitem__(self, op: str) -> Impl:
        impl = implementation(op)
        if impl is None:
            raise KeyError(op)
        return impl

    def __iter__(self) -> Iterator[str]:
        return (name for name, op in OPS.items() if op.impl)

    def __len__(self) -> int:
        return sum(1 for op in OPS.values() if op.impl)


IMPLS: Mapping[str, Impl] = _Implementations()


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
