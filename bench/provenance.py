"""Provenance overhead: writing 200 32x32 PNGs plain, with records, and with signed records.

Each image is written as a render writes it (atomically: temp file, fsync, rename); the record
is built per image by the same `Recorder` renders use (pixel hash, graph walk, canonical JSON,
A1111 text) and, for the last figure, signed with ed25519. The modes take turns image by image
and the trimmed mean time per image is compared, so fsync hiccups and background jobs fall on all of
them alike. The last line is the ratio.

    python bench/provenance.py [--images 200] [--size 32] [--repeats 5]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from gencode.graph import Node, Output
from gencode.provenance import record as R
from gencode.provenance.signing import Signer, new_key
from gencode.runtime.outputs import write_still

SCRIPT = """model scenes
seed 7
size 32
sampler ddim
steps 30
guidance 3.5

diffuse "dunes at dusk" as dusk_dunes
"""


def outputs(n: int) -> list[Output]:
    """One diffuse node per image (its own seed), shaped like the graph a script compiles to."""
    model = {"name": "scenes", "sha256": "ab" * 32}
    uncond = Node.make("prompt", {"model": model, "text": ""}, (), "cond")
    cond = Node.make("prompt", {"model": model, "text": "dunes at dusk"}, (), "cond")
    outs = []
    for seed in range(n):
        z = Node.make("noise", {"seed": seed, "shape": [3, 32, 32]}, (), "latent")
        params = {"model": model, "seed": seed, "steps": 30, "guidance": 3.5, "sampler": "ddim", "eta": 0, "mode": "txt2img"}  # fmt: skip
        node = Node.make("diffuse", params, (z, cond, uncond), "image")
        outs.append(Output(f"img{seed:04}", node, f"img{seed:04}.png", 12.0))
    return outs


def write_one(folder: Path, px: np.ndarray, out: Output, recorder: R.Recorder | None) -> float:
    """Seconds to build the record (if any) and write one image atomically."""
    t0 = time.perf_counter()
    write_still(folder / out.path, px, recorder(out, None, px) if recorder else None)
    return time.perf_counter() - t0


def measure(
    images: np.ndarray, outs: list[Output], modes: dict, repeats: int
) -> dict[str, list[float]]:
    """Per-image write times of every mode, the modes taking turns image by image (so a
    background job's bursts and the disk's fsync hiccups fall on all of them alike)."""
    times: dict[str, list[float]] = {name: [] for name in modes}
    names = list(modes)
    for r in range(repeats):
        folders = {name: Path(tempfile.mkdtemp(prefix="gencode-bench-prov-")) for name in names}
        try:
            for i, (px, out) in enumerate(zip(images, outs, strict=True)):
                turn = names[(i + r) % len(names) :] + names[: (i + r) % len(names)]
                for name in turn:
                    times[name].append(write_one(folders[name], px, out, modes[name]))
        finally:
            for folder in folders.values():
                shutil.rmtree(folder)
    return times


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=200)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    home = Path(tempfile.mkdtemp(prefix="gencode-bench-keys-"))
    os.environ["GENCODE_HOME"] = str(home)  # a throwaway key, never the user's
    new_key()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.images, args.size, args.size, 3), dtype=np.uint8)
    outs = outputs(args.images)
    script = R.script_section(["still.gen"], {"still.gen": SCRIPT}, {}, {})
    env = R.environment("cpu", "float32")
    modes = {
        "plain PNG": None,
        "with records": R.Recorder(script, env, None, None, R.now()),
        "signed records": R.Recorder(script, env, Signer(), None, R.now()),
    }
    times = measure(images, outs, modes, args.repeats)
    cpu = {name: cpu_cost(images, outs, rec) for name, rec in modes.items()}
    shutil.rmtree(home)
    mean = {name: trimmed_mean(t) for name, t in times.items()}
    print(f"{args.images} images of {args.size}x{args.size}, {args.repeats} rounds, per image:")
    print(f"  {'':<15} {'atomic write':>13} {'in memory':>10}")
    for name in modes:
        print(f"  {name:<15} {mean[name] * 1000:10.3f} ms {cpu[name] * 1000:7.3f} ms")
    for name in ("with records", "signed records"):
        extra = (cpu[name] - cpu["plain PNG"]) * 1e6
        print(f"  {name}: {(mean[name] / mean['plain PNG'] - 1) * 100:+.1f}% written, +{extra:.0f} us of CPU")  # fmt: skip
    ratio = mean["signed records"] / mean["plain PNG"]
    print(f"signed records / plain PNG (atomic writes): {ratio:.3f}x per image (target < 1.10)")


def trimmed_mean(times: list[float], cut: float = 0.1) -> float:
    """The mean without the slowest and fastest 10%: fsync spikes don't decide the figure."""
    t = sorted(times)
    k = int(len(t) * cut)
    return float(np.mean(t[k : len(t) - k]))


def cpu_cost(images: np.ndarray, outs: list[Output], recorder: R.Recorder | None) -> float:
    """Seconds per image to build the record and encode the PNG in memory (no disk at all)."""
    from PIL import Image

    from gencode.runtime.outputs import still_options

    t0 = time.perf_counter()
    for px, out in zip(images, outs, strict=True):
        record = recorder(out, None, px) if recorder else None
        Image.fromarray(px).save(io.BytesIO(), "PNG", **still_options("PNG", record))
    return (time.perf_counter() - t0) / len(images)


if __name__ == "__main__":
    main()
