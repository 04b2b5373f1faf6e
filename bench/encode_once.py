"""Writing a recorded animation: encoded once (the record made from the encoded file, its tag added
without re-encoding) against the way it used to be done (an encode in a scratch folder to learn
the decoded pixels for the record, then the real encode with the record in it).

Both run side by side on the same frames, taking turns; the best of --repeats is kept. The last
line is the ratio per format.

    python bench/encode_once.py [--frames 48] [--size 256] [--repeats 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from gencode.provenance.pixels import as_written, pixel_sha256
from gencode.runtime.outputs import write_animation


def record_of(pixels: np.ndarray) -> dict:
    return {"schema": "gencode.record/1", "pixels": {"sha256": pixel_sha256(pixels)}}


def twice(path: Path, frames: np.ndarray, fps: float) -> None:
    """Before: as_written encodes to learn the pixels, then the writer encodes again."""
    write_animation(path, frames, fps, record_of(as_written(frames, path.suffix, fps)))


def once(path: Path, frames: np.ndarray, fps: float) -> None:
    write_animation(path, frames, fps, record_of)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    rng = np.random.default_rng(0)  # smooth gradients plus grain: like a render, not white noise
    y, x = np.mgrid[0 : a.size, 0 : a.size] / a.size
    base = np.stack([x, y, (x + y) / 2], -1)
    frames = np.stack(
        [
            np.clip(base * 255 + 40 * np.sin(i / 5) + rng.normal(0, 6, base.shape), 0, 255)
            for i in range(a.frames)
        ]
    ).astype(np.uint8)
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        for suffix in (".gif", ".mp4"):
            best = {"twice": float("inf"), "once": float("inf")}
            for _ in range(a.repeats):
                for name, fn in (("twice", twice), ("once", once)):
                    t0 = time.perf_counter()
                    fn(Path(tmp) / f"a{suffix}", frames, 12.0)
                    best[name] = min(best[name], time.perf_counter() - t0)
            print(f"{suffix}: before {best['twice']:.2f} s, now {best['once']:.2f} s")
            figures.append(f"{suffix[1:]} {best['twice'] / best['once']:.2f}x")
    print(f"{a.frames} frames at {a.size}px, encode-once speedup: " + ", ".join(figures))


if __name__ == "__main__":
    main()
