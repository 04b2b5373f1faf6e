"""Feedback animation: cadence 1 versus cadence 3, and a cold render versus a late keyframe edit.

    python bench/animate.py [--frames 48] [--steps 50] [--threads N] [--repeats 2] [--random]

A 48-frame 32x32 zoom-and-rotate flight over the scenes model, rendered whole (check, compile,
execute, write the MP4). (1) Cadence 3 diffuses every third frame and warps the rest: its time
over cadence 1's, each from a fresh executor. (2) The strength keyframe at frame 40 is edited
and the script rendered again in the same executor (as watch mode does): only frames 40 onward
are re-diffused. Prints both ratios, with the model calls behind them, on its last line.
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
fps 12
seed 7
strength {{0: 0.6, {before}: 0.6, {edit}: {s}, {last}: 0.6}}
animate {frames} "dunes" zoom 1.02 rotate 0.5 noise 0.02 cadence {cadence}
save "flight.mp4"
"""


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.set_defaults(frames=48)
    p.add_argument("--edit", type=int, default=40, help="the frame whose keyframe is edited")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    folder = workdir(args.random)
    path, out = folder / "flight.gen", Path(tempfile.mkdtemp(prefix="gencode-bench-out-"))
    keys = {"steps": args.steps, "frames": args.frames, "edit": args.edit}
    keys |= {"before": args.edit - 1, "last": args.frames - 1}

    def script(cadence: int, s: float) -> str:
        return SCRIPT.format(cadence=cadence, s=s, **keys)

    best = {"c1": float("inf"), "c3": float("inf"), "edit": float("inf")}
    calls: dict[str, int] = {}
    for r in range(args.repeats):
        ex = Executor("cpu")  # fresh: nothing cached
        t1, calls["c1"] = timed(path, script(1, 0.6), ex, out)
        te, calls["edit"] = timed(path, script(1, 0.5 - 0.05 * r), ex, out)  # new every repeat
        t3, calls["c3"] = timed(path, script(3, 0.6), Executor("cpu"), out)
        print(f"repeat {r}: cadence 1 {t1:.2f} s, keyframe edit {te:.2f} s, cadence 3 {t3:.2f} s")
        for name, t in (("c1", t1), ("edit", te), ("c3", t3)):
            best[name] = min(best[name], t)
    print(f"{args.frames} frames 32x32 x {args.steps} steps, {torch.get_num_threads()} thread(s)")
    print(
        f"cadence 3 takes {best['c3'] / best['c1']:.1%} of cadence 1's time "
        f"({calls['c3']} vs {calls['c1']} model calls); re-render after editing the frame-"
        f"{args.edit} keyframe takes {best['edit'] / best['c1']:.1%} of the cold render "
        f"({calls['edit']} vs {calls['c1']} model calls)"
    )


if __name__ == "__main__":
    main()
