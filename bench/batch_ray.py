"""Batch throughput: the single-machine runner against Ray workers on this machine, one batch.

The same 32-item batch (the built-in `scenes` model, one still per seed) is rendered by
`run_batch` in this process with one torch thread, then with `ray="local"` and two workers of one
thread each; Ray is started first and its start-up is reported apart (a batch on a running cluster
does not pay it), while worker start and model loading count, as the runner's loading does.
Items per second for each, whether the pixels match, and the ratio on the last line.

    python bench/batch_ray.py [--items 32] [--steps 20] [--workers 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from gencode.batch.catalog import Catalog
from gencode.batch.runner import BatchSpec, run_batch

SCRIPT = """model scenes
param base = 0
seed base
size 32
steps {steps}
diffuse "dunes at dusk" as still
"""


def timed(spec: BatchSpec) -> float:
    t0 = time.perf_counter()
    result = run_batch(spec)
    assert result.rendered == len(spec.seeds or [])
    return time.perf_counter() - t0


def pixels(folder: Path) -> dict[str, str]:
    with Catalog.open(folder) as cat:
        return {r.path: r.pixel_sha256 for r in cat.rows()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--items", type=int, default=32)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    import ray

    torch.set_num_threads(1)
    folder = Path(tempfile.mkdtemp(prefix="gencode-bench-"))
    script = folder / "batch.gen"
    script.write_text(SCRIPT.format(steps=args.steps))
    seeds = list(range(args.items))

    local = timed(BatchSpec(script, folder / "local", seeds, progress=False))
    t0 = time.perf_counter()
    ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
    start = time.perf_counter() - t0
    spec = BatchSpec(script, folder / "ray", seeds, progress=False, ray="local")
    spec.ray_workers = args.workers
    on_ray = timed(spec)
    ray.shutdown()

    same = pixels(folder / "local") == pixels(folder / "ray")
    print(f"{args.items} items, scenes 32x32, {args.steps} steps, {torch.get_num_threads()} thread each")  # fmt: skip
    print(f"local runner      {local:6.2f}s  {args.items / local:6.2f} items/s")
    print(f"ray, {args.workers} workers    {on_ray:6.2f}s  {args.items / on_ray:6.2f} items/s  (ray start-up {start:.1f}s apart)")  # fmt: skip
    print(f"pixels identical: {same}")
    print(f"ray / local throughput: {local / on_ray:.2f}x")


if __name__ == "__main__":
    main()
