"""Cold render versus cached re-renders after one-line edits, in one executor (as watch mode).

    python bench/rerender.py [--frames 24] [--steps 50] [--threads N] [--random]

Edits: (1) `fps 12` → `fps 8`, which touches only the output (its GIF is rewritten); (2) one
keyframe of a guidance schedule, which changes one frame of the walk only. Every render is
timed whole: check, compile, execute and write every output. Prints both ratios on its last line
(targets: output-only edit under 5% of the cold render, one-frame edit under 15%).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from _common import parser, timed, workdir

from gencode.runtime.execute import Executor

SCRIPT = """model "model.safetensors"
size 32
steps {steps}
fps {fps}
guidance {{0: 3, {before}: 3, {mid}: {g}, {after}: 3, {last}: 3}}
interpolate latent a b {frames}
"""


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    torch.set_num_threads(args.threads)
    folder = workdir(args.random)
    path, out = folder / "walk.gen", Path(tempfile.mkdtemp(prefix="gencode-bench-out-"))
    mid = args.frames // 2
    keys = {
        "steps": args.steps,
        "frames": args.frames,
        "before": mid - 1,
        "mid": mid,
        "after": mid + 1,
        "last": args.frames - 1,
    }
    base = SCRIPT.format(fps=12, g=5, **keys)
    best = {"cold": float("inf"), "output": float("inf"), "frame": float("inf")}
    for r in range(args.repeats):
        ex = Executor("cpu", chunk=args.frames)  # a fresh executor: nothing cached
        cold, n_cold = timed(path, base, ex, out)
        output, n_out = timed(path, SCRIPT.format(fps=8, g=5, **keys), ex, out)
        frame, n_frame = timed(path, SCRIPT.format(fps=8, g=6 + r, **keys), ex, out)
        assert (n_cold, n_out, n_frame) == (args.frames, 0, 1), (n_cold, n_out, n_frame)
        for name, t in (("cold", cold), ("output", output), ("frame", frame)):
            best[name] = min(best[name], t)
    print(f"{args.frames} frames x {args.steps} steps, {torch.get_num_threads()} thread(s)")
    print(
        f"cold {best['cold']:.2f} s, output-only edit {best['output']:.3f} s, "
        f"one-frame edit {best['frame']:.2f} s"
    )
    print(
        f"output-only edit {best['output'] / best['cold']:.1%} of cold, "
        f"one-frame edit {best['frame'] / best['cold']:.1%} of cold"
    )


if __name__ == "__main__":
    main()
