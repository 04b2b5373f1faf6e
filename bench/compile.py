"""Front-end speed: parse+check+compile throughput on a generated 2,000-statement script, and the
cold start of `gencode check` against `python -c pass` (median of several runs, side by side).

Targets: >= 5,000 statements/s; `gencode check` cold start under 0.5 s.
Usage: python bench/compile.py [--statements 2000] [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

from gencode.check import check_text
from gencode.compile import compile_program
from gencode.models.catalog import ModelCatalog

META = {
    "vocabulary": ["dunes", "ocean", "forest", "night", "dawn"],
    "size_multiple": 4,
    "defaults": {"size": 32, "steps": 20, "guidance": 3.0},
}
LINES = [
    'x{i} = diffuse "dunes at night" steps {s} seed {i}',
    "guidance {g}",
    "w{i} = interpolate latent a{i} b{i} 24",
    "m{i} = n{i} + 0.5 * (k{i} - n{i})",
    'prompt {{0: "ocean", 24: "forest at dawn"}}',
    "diffuse from m{i} as out{i}",
    "# a comment line",
    "seed {i}",
]


def script(n: int) -> str:
    """n statements cycling through settings, bindings, walks, arithmetic, schedules, outputs."""
    out = ['model "tiny.safetensors"']
    for i in range(n - 1):
        out.append(LINES[i % len(LINES)].format(i=i, s=10 + i % 40, g=1 + i % 7))
    return "\n".join(out) + "\n"


def throughput(folder: Path, n: int, repeats: int = 3) -> float:
    text = script(n)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        compile_program(check_text(text, "bench.gen", folder, None, ModelCatalog()))
        best = min(best, time.perf_counter() - start)
    return n / best


def cold(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--statements", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        doc = {"family": "diffusion", "arch": "test", "config": {}, "meta": META}
        save_file(
            {"w": np.zeros(4, np.float32)},
            str(folder / "tiny.safetensors"),
            metadata={"gencode": json.dumps(doc)},
        )
        (folder / "card.gen").write_text(
            'model "tiny.safetensors"\nseed 42; diffuse "dunes" steps 50; interpolate latent a b 24\n'
        )
        rate = throughput(folder, args.statements)
        check_cmd = [sys.executable, "-m", "gencode.cli", "check", "-q", str(folder / "card.gen")]
        t_check = cold(check_cmd, args.runs)
        t_pass = cold([sys.executable, "-c", "pass"], args.runs)
    print(
        f"parse+check+compile: {rate:,.0f} statements/s on a {args.statements}-statement script (target >= 5,000)"
    )
    print(
        f"cold start: gencode check {t_check * 1000:.0f} ms, python -c pass {t_pass * 1000:.0f} ms (target < 500 ms)"
    )
    print(
        f"RESULT statements_per_s={rate:.0f} check_cold_ms={t_check * 1000:.0f} "
        f"python_cold_ms={t_pass * 1000:.0f} ratio={t_check / t_pass:.1f}x"
    )


if __name__ == "__main__":
    main()
