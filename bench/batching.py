"""Batched versus per-frame: a latent walk rendered in one batch versus a loop of batch-1 calls.

    python bench/batching.py [--frames 24] [--steps 50] [--threads N] [--random]

Same model, sampler, steps and guidance; only the executor's chunk differs (frames vs 1). Runs
alternate between the two so that other jobs on the machine slow both alike. Prints the per-frame
time ratio on its last line (target: at least 2x).
"""

from __future__ import annotations

import torch
from _common import best_time, parser, workdir

from gencode.render import load_script
from gencode.runtime.execute import Executor


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    torch.set_num_threads(args.threads)
    folder = workdir(args.random)
    path = folder / "walk.gen"
    path.write_text(
        f'model "model.safetensors"\nsteps {args.steps}\ninterpolate latent a b {args.frames}\n'
    )
    script = load_script(path)
    batched, single = Executor("cpu", chunk=args.frames), Executor("cpu", chunk=1)
    times: dict[str, list[float]] = {"batched": [], "per-frame": []}
    for _ in range(args.repeats):
        for name, ex in (("batched", batched), ("per-frame", single)):
            ex.add_models(script.catalog.resolved)
            ex.memory.clear()  # a cold render each time; the model stays loaded
            times[name].append(best_time(lambda ex=ex: ex.run(script.graph, folder), 1))
    b, s = min(times["batched"]), min(times["per-frame"])
    print(
        f"{args.frames} frames x {args.steps} steps, {torch.get_num_threads()} thread(s), "
        f"model {'random' if args.random else 'scenes'}"
    )
    print(f"batched:   {b:.2f} s ({b / args.frames:.3f} s per frame)")
    print(f"per-frame: {s:.2f} s ({s / args.frames:.3f} s per frame)")
    print(f"batched is {s / b:.2f}x faster per frame")


if __name__ == "__main__":
    main()
