"""Procedural data speed: `scenes` images per second at 256, 128 and 32 px on one thread.

Wall time and the process's own CPU time are both printed (on a CPU shared with other jobs the
CPU time is the steadier figure). Target: >= 100 images/s at 256 px on one thread.
Usage: python bench/data_speed.py [--n 400] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")  # numpy's BLAS: one thread, as the target says

from gencode.data import scenes  # noqa: E402


def rate(n: int, size: int, repeats: int) -> tuple[float, float]:
    """Best (wall, cpu) images per second of generate(n) at a size."""
    best_wall = best_cpu = 0.0
    for r in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        scenes.generate(n, seed=r, size=size)
        best_wall = max(best_wall, n / (time.perf_counter() - wall))
        best_cpu = max(best_cpu, n / (time.process_time() - cpu))
    return best_wall, best_cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=400, help="images per timing at 256 px")
    ap.add_argument("--repeats", type=int, default=2)
    a = ap.parse_args()
    figures = {}
    for size in (32, 128, 256):
        n = a.n * (256 // size) if size < 256 else a.n
        figures[size] = rate(n, size, a.repeats)
        print(f"{size:>3} px: {figures[size][0]:8.0f} images/s wall, {figures[size][1]:8.0f} cpu")
    wall, cpu = figures[256]
    print(f"RESULT scenes 256px: {wall:.0f} images/s wall, {cpu:.0f} images/s cpu (1 thread)")


if __name__ == "__main__":
    main()
