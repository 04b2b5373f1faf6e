"""Pre-flight memory estimate vs. real peak memory: each render in a fresh process, its peak RSS
(above the same process's RSS just before the run) next to `gencode.runtime.budget.estimate`.

    python bench/budget.py --sizes 64 128 256 --frames 1 4

The last line prints the worst ratio of real to estimated (the estimate must stay within 2x).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
import torch
torch.set_num_threads(1)
from gencode.render import load_script, render
from gencode.runtime.budget import estimate
from gencode.runtime.execute import Executor
size, frames = int(sys.argv[1]), int(sys.argv[2])
text = f"size {size}\nsteps 1\nprompt \"dunes\"\n"
text += "diffuse\n" if frames == 1 else f"interpolate latent a b {frames}\n"
script = load_script(text)
ex = Executor("cpu", catalog=script.catalog)
ex.add_models(script.catalog.resolved)
est = estimate(script.graph, lambda n: ex.models.get(n.params["model"], script.root), ex.chunk)
def rss():  # current resident set size, bytes (Linux)
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()
before = rss()
t0 = time.perf_counter()
render(script, executor=ex, write=False)
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"size": size, "frames": frames, "estimate": est.total,
                  "real": peak - before, "seconds": seconds, "est_seconds": est.seconds}))
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    p.add_argument("--frames", type=int, nargs="+", default=[1])
    args = p.parse_args()
    worst = 0.0
    print(
        f"{'size':>6} {'frames':>6} {'estimate MiB':>13} {'real MiB':>9} {'ratio':>6} {'s':>6} {'est s':>6}"
    )
    for size in args.sizes:
        for frames in args.frames:
            out = subprocess.run([sys.executable, "-c", CHILD, str(size), str(frames)],
                                 capture_output=True, text=True, check=True)  # fmt: skip
            r = json.loads(out.stdout.strip().splitlines()[-1])
            ratio = r["real"] / r["estimate"]
            worst = max(worst, ratio, 1 / ratio)
            print(f"{size:>6} {frames:>6} {r['estimate'] / 2**20:>13.1f} {r['real'] / 2**20:>9.1f} "
                  f"{ratio:>6.2f} {r['seconds']:>6.2f} {r['est_seconds']:>6.2f}")  # fmt: skip
    print(f"worst real/estimate (or estimate/real) ratio: {worst:.2f}")


if __name__ == "__main__":
    main()
