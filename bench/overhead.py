"""gencode's overhead: rendering a latent walk versus the bare network doing the same forwards.

    python bench/overhead.py [--frames 24] [--steps 50] [--threads N] [--random]

gencode: the whole `render()` of a script (check, compile, sampling, writing 24 PNGs and a GIF)
with the model already loaded and the value cache empty. Bare: the same UNet called `steps`
times on the same batch (frames x 2 for classifier-free guidance) in a plain loop. Runs
alternate. Prints the time ratio on its last line (target: at most 1.10).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from _common import best_time, guidance_of, parser, workdir

from gencode.models.diffusion import load_diffusion
from gencode.render import load_script, render
from gencode.runtime.execute import Executor


def bare_loop(folder: Path, frames: int, steps: int, guided: bool) -> callable:
    """The network alone: `steps` forwards of the batch gencode's sampler sends."""
    model = load_diffusion(folder / "model.safetensors")
    batch = frames * (2 if guided else 1)
    g = torch.Generator().manual_seed(0)
    x = torch.randn((batch, 3, 32, 32), generator=g)
    cond = model.null(batch)
    ts = model.sigmas(steps)[:-1]  # one timestep value per step; the network cost is the same

    def run() -> None:
        with torch.inference_mode():
            for t in ts:
                model.net(x, t.reshape(1), cond)

    return run


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    torch.set_num_threads(args.threads)
    folder = workdir(args.random)
    path = folder / "walk.gen"
    path.write_text(
        f'model "model.safetensors"\nsize 32\nsteps {args.steps}\n'
        f"interpolate latent a b {args.frames}\n"
    )
    ex = Executor("cpu", chunk=args.frames)
    out = Path(tempfile.mkdtemp(prefix="gencode-bench-out-"))
    ex.add_models(load_script(path).catalog.resolved)

    def gencode_render() -> None:
        ex.memory.clear()
        render(path, out, executor=ex)

    bare = bare_loop(folder, args.frames, args.steps, guidance_of(folder) != 1.0)
    gencode_render()  # warm-up: loads the model, as watch mode would have
    times: dict[str, list[float]] = {"gencode": [], "bare": []}
    for _ in range(args.repeats):
        times["gencode"].append(best_time(gencode_render, 1))
        times["bare"].append(best_time(bare, 1))
    g, b = min(times["gencode"]), min(times["bare"])
    print(f"{args.frames} frames x {args.steps} steps, {torch.get_num_threads()} thread(s)")
    print(f"gencode render: {g:.2f} s   bare network loop: {b:.2f} s")
    print(f"gencode / bare = {g / b:.3f}")


if __name__ == "__main__":
    main()
