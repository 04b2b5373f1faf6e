"""Execute: op graph → values of its outputs, through a memory cache (and an optional disk cache).

Input: `gencode.graph.Graph`. Output: `RunResult` with each output's tensor (images in [0, 1])
and a summary (time per op, executions, cache hits). Nodes are evaluated on demand from the
outputs, so a cached output never touches its inputs; frame-by-frame sequence ops are cached per
frame, so an edit that changes one frame re-renders that frame only. One `Executor` keeps its
caches and loaded models across runs (watch mode reuses one).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import torch

from gencode.graph import Graph, Node
from gencode.models.catalog import ModelCatalog, ModelRef
from gencode.models.checkpoint import CheckpointError
from gencode.ops.table import OPS
from gencode.runtime import ops_gen, ops_image
from gencode.runtime.budget import LONG_RENDER_SECONDS, estimate
from gencode.runtime.cache import DiskCache, MemoryCache
from gencode.runtime.device import (
    DeviceError,
    default_threads,
    memory_budget,
    network_dtype,
    pick_device,
    torch_threads,
    tune_malloc,
)
from gencode.runtime.frames import FrameKeys, is_framewise, subset
from gencode.runtime.models import ModelStore
from gencode.runtime.registry import DEFAULT_CHUNK, OpContext, implementation

GiB = 1 << 30
USER_ERRORS = (ops_image.OpError, ops_gen.OpInputError, CheckpointError, DeviceError)


class RenderError(Exception):
    """A render that cannot run as asked: a bad model or file, or too little memory."""

    node: Node | None = None  # the innermost node that failed, when one did

    def where(self) -> str | None:
        """Where the script wrote the value that failed (`file:line:col`), when known."""
        span = self.node.span if self.node is not None else None
        return str(span) if span is not None and span.line else None

    def located(self) -> str:
        """The message after its place in the script, as the checker's errors are written."""
        where = self.where()
        return f"{where}: error: {self}" if where else str(self)


@dataclass
class OpStats:
    runs: int = 0  # op calls (one call may compute many frames)
    frames: int = 0  # frames (or values) computed
    hits: int = 0  # nodes served from a cache
    seconds: float = 0.0


@dataclass
class RunSummary:
    device: str
    dtype: str
    threads: int = 1  # torch's intra-op threads: pixels depend on it, so it is recorded
    seconds: float = 0.0
    ops: dict[str, OpStats] = field(default_factory=dict)

    def op(self, name: str) -> OpStats:
        return self.ops.setdefault(name, OpStats())

    @property
    def runs(self) -> Counter:
        """Op executions of this run, by op name."""
        return Counter({k: v.runs for k, v in self.ops.items() if v.runs})

    @property
    def hits(self) -> Counter:
        return Counter({k: v.hits for k, v in self.ops.items() if v.hits})

    def format(self) -> str:
        """A small table: per op, calls, frames, cache hits and time."""
        lines = [f"{'op':<12}{'runs':>6}{'frames':>8}{'hits':>6}{'time':>10}"]
        for name, s in sorted(self.ops.items(), key=lambda kv: -kv[1].seconds):
            lines.append(f"{name:<12}{s.runs:>6}{s.frames:>8}{s.hits:>6}{s.seconds:>9.2f}s")
        lines.append(f"total {self.seconds:.2f}s on {self.device} ({self.dtype})")
        return "\n".join(lines)


@dataclass
class RunResult:
    values: dict[str, torch.Tensor]  # output name → value (image (3, H, W) or frames (N, 3, H, W))
    summary: RunSummary


class Executor:
    """Runs graphs on one device, keeping a value cache and loaded models between runs."""

    def __init__(
        self,
        device: str = "auto",
        cache_bytes: int = 2 * GiB,
        disk_cache: str | Path | None = None,
        chunk: int = DEFAULT_CHUNK,
        cpu_bf16: bool = False,
        catalog: ModelCatalog | None = None,
        memory_limit: int | None = None,
        threads: int | None = None,
    ):
        tune_malloc()
        self.threads = int(threads or default_threads())
        self.device = pick_device(device)
        self.autocast_dtype = network_dtype(self.device)
        self.cpu_bf16 = cpu_bf16 and self.device.type == "cpu"
        self.chunk = int(chunk)
        self.memory = MemoryCache(cache_bytes)
        # Values computed with another thread count may differ in the last bits: keep them apart.
        salt = f"{self.device.type}:{self.dtype_name}:threads={self.threads}"
        self.disk = DiskCache(disk_cache, salt) if disk_cache is not None else None
        self.models = ModelStore(self.device, catalog)
        self.memory_limit = memory_limit
        self.counts: Counter = Counter()  # op executions over every run
        self.hits: Counter = Counter()

    @property
    def dtype_name(self) -> str:
        if self.device.type == "cuda":
            return "float16"
        return "bfloat16" if self.cpu_bf16 else "float32"

    def add_models(self, refs: list[ModelRef]) -> None:
        """Tell the executor where the checker found each model."""
        for ref in refs:
            self.models.add(ref)

    def run(
        self,
        graph: Graph,
        root_dir: str | Path = ".",
        progress: Callable[[str, int, int], None] | None = None,
        cancel: threading.Event | None = None,
        notice: Callable[[str], None] | None = None,
    ) -> RunResult:
        """The values of the graph's outputs; raises RenderError, or Cancelled when stopped;
        `notice` hears, before anything runs, that a render will take long."""
        ctx = OpContext(
            self.device,
            torch.float32,
            Path(root_dir),
            self.chunk,
            self.models,
            progress,
            cancel or threading.Event(),
        )
        summary = RunSummary(str(self.device), self.dtype_name, self.threads)
        t0 = time.perf_counter()
        with torch.inference_mode(), torch_threads(self.threads):
            self._preflight(graph, ctx, notice)
            walk = _Walk(self, ctx, summary)
            with self._autocast():
                for node in walk.plan(graph):  # inputs first: the recursion stays shallow
                    walk.value(node)
                values = {o.name: walk.value(o.node) for o in graph.outputs}
        summary.seconds = time.perf_counter() - t0
        for name, s in summary.ops.items():
            self.counts[name] += s.runs
            self.hits[name] += s.hits
        return RunResult(values, summary)

    def _autocast(self):
        """Half precision on CUDA; bfloat16 on the CPU when asked (1.6x faster at batch 24)."""
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=self.autocast_dtype)
        if self.cpu_bf16:
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return nullcontext()

    def _preflight(
        self, graph: Graph, ctx: OpContext, notice: Callable[[str], None] | None = None
    ) -> None:
        """Load the models, refuse a render whose values cannot fit in memory, and say when one
        will run long (before it starts, not minutes in)."""
        try:
            est = estimate(
                graph, lambda n: self.models.get(n.params["model"], ctx.root_dir), self.chunk
            )
        except USER_ERRORS as e:
            raise RenderError(str(e)) from None
        budget = self.memory_limit or memory_budget(self.device)
        if est.total > budget:
            n = est.largest
            what = f"'{n.op}'" + (f" of {n.length} frames" if n and n.length else "")
            part = f"{human_bytes(est.largest_bytes)} for {what}"
            if est.working > est.largest_bytes:
                part += f"; {human_bytes(est.working)} for the sampler's network at this size"
            raise RenderError(
                f"this render needs about {human_bytes(est.total)} of memory ({part}), but only "
                f"{human_bytes(budget)} is available on {self.device}; render fewer frames or "
                "a smaller size"
            )
        seconds = est.seconds / max(torch.get_num_threads(), 1)
        if notice is not None and self.device.type == "cpu" and seconds > LONG_RENDER_SECONDS:
            notice(
                f"note: this render will take about {seconds / 60:.0f} minutes or more on this "
                "CPU (Ctrl-C stops it cleanly); fewer frames, steps or pixels are faster"
            )


def human_bytes(n: float) -> str:
    """1536 → '1.5 KiB'."""
    for unit in ("bytes", "KiB", "MiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


class _Walk:
    """One run's demand-driven walk: each node's value from this run, the caches, or its op."""

    def __init__(self, ex: Executor, ctx: OpContext, summary: RunSummary):
        self.ex, self.ctx, self.summary = ex, ctx, summary
        self.values: dict[str, torch.Tensor] = {}
        self.frame_keys = FrameKeys()

    def plan(self, graph: Graph) -> list[Node]:
        """The nodes to visit, in order: from the outputs back, stopping at cached values."""
        needed = {o.node.key for o in graph.outputs}
        for node in reversed(graph.nodes):
            if node.key in needed and not self._available(node):
                needed.update(i.key for i in node.inputs)
        return [n for n in graph.nodes if n.key in needed]

    def _available(self, node: Node) -> bool:
        """Whether every value (or frame) of a node is in a cache, without loading any."""
        keys = self.frame_keys.of(node) if is_framewise(node) else [node.key]
        disk = self.ex.disk if not _cheap(node.op) else None
        return all(k in self.ex.memory or (disk is not None and disk.has(k)) for k in keys)

    def value(self, node: Node) -> torch.Tensor:
        if node.key not in self.values:
            framewise = is_framewise(node)
            try:
                self.values[node.key] = self._frames(node) if framewise else self._whole(node)
            except RenderError as e:
                e.node = e.node or node  # the innermost node: the one whose op failed
                raise
        return self.values[node.key]

    def _lookup(self, key: str, op: str) -> torch.Tensor | None:
        value = self.ex.memory.get(key)
        if value is None and self.ex.disk is not None and not _cheap(op):
            value = self.ex.disk.get(key)
            if value is not None:
                value = value.to(self.ctx.device)
                self.ex.memory.put(key, value)
        return value

    def _store(self, key: str, op: str, value: torch.Tensor) -> None:
        self.ex.memory.put(key, value)
        if self.ex.disk is not None and not _cheap(op):
            self.ex.disk.put(key, value)

    def _whole(self, node: Node) -> torch.Tensor:
        value = self._lookup(node.key, node.op)
        if value is not None:
            self.summary.op(node.op).hits += 1
            return value
        inputs = [self.value(i) for i in node.inputs]
        value = self._call(node, inputs, 1)
        self._store(node.key, node.op, value)
        return value

    def _frames(self, node: Node) -> torch.Tensor:
        """A sequence from its cached frames, computing only the missing ones in one call."""
        keys = self.frame_keys.of(node)
        frames = [self._lookup(k, node.op) for k in keys]
        missing = [i for i, f in enumerate(frames) if f is None]
        if not missing:
            self.summary.op(node.op).hits += 1
            return torch.stack(frames)  # (N, ...)
        inputs = [self.value(i) for i in node.inputs]
        if len(missing) < len(keys):
            idx = torch.tensor(missing)
            inputs = [
                x.index_select(0, idx.to(x.device)) if i.length is not None else x
                for x, i in zip(inputs, node.inputs, strict=True)
            ]
            node = subset(node, missing)
        out = self._call(node, inputs, len(missing))  # (M, ...)
        for j, i in enumerate(missing):
            frames[i] = out[j].clone()  # its own storage, so the cache can evict frames singly
            self._store(keys[i], node.op, frames[i])
        return torch.stack(frames)

    def _call(self, node: Node, inputs: list[torch.Tensor], frames: int) -> torch.Tensor:
        """Run an op, counting and timing it; user-facing failures become RenderError."""
        impl = implementation(node.op)
        if impl is None:
            raise RenderError(f"no implementation of op '{node.op}' in this runtime")
        stats = self.summary.op(node.op)
        t0 = time.perf_counter()
        try:
            value = impl(self.ctx, node, inputs)
        except USER_ERRORS as e:
            raise RenderError(str(e)) from None
        except torch.cuda.OutOfMemoryError:
            raise RenderError(_oom_message(node, self.ex)) from None
        except RuntimeError as e:
            if "can't allocate memory" in str(e) or "out of memory" in str(e):
                raise RenderError(_oom_message(node, self.ex)) from None
            raise
        finally:
            stats.seconds += time.perf_counter() - t0
        stats.runs += 1
        stats.frames += frames
        return value


def _cheap(op: str) -> bool:
    """Cheap ops are not worth a disk write (an fsync costs more than recomputing them)."""
    return op in OPS and OPS[op].cheap


def _oom_message(node: Node, ex: Executor) -> str:
    frames = f" ({node.length} frames in batches of {ex.chunk})" if node.length else ""
    return (
        f"out of memory on {ex.device} while running '{node.op}'{frames}; "
        "try a smaller size, fewer frames, or a smaller chunk"
    )
