"""Speed of the shipped scenes model, side by side with the earlier 32x32 model, in one run.

Per thread count (1 and 2 by default), the median of several timings of:
  - a 20-step still: `scenes` at 256x256 and `scenes32` at 32x32 (the ratio is the target: ≤ 2x);
  - a live frame: `scenes` at 4 steps, 128x128 and 256x256 (target ≤ 80 ms at 128: ≥ 12 fps);
  - the decoder's share of a 4-step 128x128 frame;
all with classifier-free guidance at the model's default, through the same runtime objects the
`diffuse` op uses (prompt conditions, guided denoiser, the model's default sampler, decode).
`--bf16` times the networks in bfloat16 autocast as `--bf16` renders do.

    python bench/model_speed.py [--threads 1 2] [--repeats 5] [--bf16]

The last line holds the figures.
"""

from __future__ import annotations

import argparse
import statistics
import time
from contextlib import nullcontext

import torch

from gencode.models.catalog import WEIGHTS_DIR
from gencode.models.families import LOADERS
from gencode.ops.table import resolve
from gencode.samplers import get_sampler
from gencode.samplers.denoisers import GuidedDenoiser


def load(name: str):
    from gencode.models.checkpoint import file_sha256, read_info

    path = WEIGHTS_DIR / f"{name}.safetensors"
    load = resolve(LOADERS[read_info(path).arch])
    return load(path, torch.device("cpu"), file_sha256(path))


def frame_fn(model, side: int, steps: int, guidance: float, sampler: str, bf16: bool):
    """A closure rendering one image the way `diffuse` does; returns (fn, decode-only fn)."""
    factor = model.image_shape((1, 1, 1))[-1]  # image side per latent side
    channels = 4 if factor > 1 else 3
    z = torch.randn(
        1, channels, side // factor, side // factor, generator=torch.Generator().manual_seed(0)
    )
    cond, uncond = model.encode_prompt(["dunes at dusk"]), model.encode_prompt([""])
    sigmas = model.sigmas(steps)
    den = GuidedDenoiser(model.denoiser(), [guidance])
    ctx = torch.autocast("cpu", torch.bfloat16) if bf16 else nullcontext()

    def run() -> torch.Tensor:
        with torch.inference_mode(), ctx:
            x = get_sampler(sampler)(
                den, z * sigmas[0], sigmas, extra_args={"cond": cond, "uncond": uncond}
            )
            return model.to_image(x)

    def decode() -> torch.Tensor:
        with torch.inference_mode(), ctx:
            return model.to_image(z)

    return run, decode


def median_ms(fn, repeats: int) -> float:
    fn()  # warm-up: allocator, one-time kernels
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--bf16", action="store_true")
    a = p.parse_args()
    new, old = load("scenes"), load("scenes32")
    g_new = float(new.meta.get("default_guidance", 3.0))
    g_old = float(old.model.meta.get("default_guidance", 3.0))
    s_new, s_old = (
        new.meta.get("default_sampler", "euler"),
        old.model.meta.get("default_sampler", "ddim"),
    )
    live = int(new.meta.get("live_steps", 4))
    figures = []
    for threads in a.threads:
        torch.set_num_threads(threads)
        still_new = median_ms(frame_fn(new, 256, 20, g_new, s_new, a.bf16)[0], a.repeats)
        still_old = median_ms(frame_fn(old, 32, 20, g_old, s_old, a.bf16)[0], a.repeats)
        f128, dec128 = frame_fn(new, 128, live, g_new, s_new, a.bf16)
        t128, d128 = median_ms(f128, a.repeats), median_ms(dec128, a.repeats)
        t256 = median_ms(frame_fn(new, 256, live, g_new, s_new, a.bf16)[0], a.repeats)
        print(
            f"threads {threads}: 20-step still 256px {still_new:.0f} ms vs 32px {still_old:.0f} ms "
            f"({still_new / still_old:.2f}x); {live}-step frame 128px {t128:.0f} ms "
            f"({1000 / t128:.1f} fps, decoder {d128 / t128:.0%}), 256px {t256:.0f} ms ({1000 / t256:.1f} fps)"
        )
        figures.append(
            f"t{threads}: still ratio {still_new / still_old:.2f}x, 128px {t128:.0f} ms "
            f"({1000 / t128:.1f} fps), 256px {t256:.0f} ms ({1000 / t256:.1f} fps), decoder {d128 / t128:.0%}"
        )
    dtype = "bf16" if a.bf16 else "fp32"
    print(f"model_speed ({dtype}): " + "; ".join(figures))


if __name__ == "__main__":
    main()
