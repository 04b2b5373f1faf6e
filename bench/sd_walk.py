"""gencode versus a diffusers loop: a latent walk through a Stable Diffusion folder.

    python bench/sd_walk.py [--frames 24] [--steps 20] [--guidance 7.5] [--threads N]
                            [--device auto|cpu|cuda] [--chunk 24] [--model path/to/sd-folder]

Both sides use the same folder (UNet, VAE, text encoder, tokenizer), the same start latents
(a slerp walk between two seeded noises), steps, guidance and Euler sampling with trailing
spacing; gencode renders the walk in batches, the baseline calls `StableDiffusionPipeline` once
per frame. Without --model the folder is built from configs with random weights (speed does not
depend on them): on the CPU a tiny pipeline at 64x64, on CUDA SD 1.5's UNet, VAE and CLIP text
encoder at 512x512 in half precision. Runs alternate between the two; the best of --repeats is
kept. Prints the per-frame time ratio on its last line (targets: never slower on the CPU, at
least 3x on a GPU).
"""

from __future__ import annotations

import argparse
import os
import shutil
import string
import tempfile
import time
from pathlib import Path

import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never a hub: everything is a local folder

from diffusers import (  # noqa: E402
    AutoencoderKL,
    EulerDiscreteScheduler,
    StableDiffusionPipeline,
    UNet2DConditionModel,
)
from diffusers.utils import logging as diffusers_logging  # noqa: E402
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer  # noqa: E402
from transformers.utils import logging as transformers_logging  # noqa: E402

from gencode.render import load_script  # noqa: E402
from gencode.runtime.execute import Executor  # noqa: E402
from gencode.runtime.ops_gen import ease_times, slerp_coefficients  # noqa: E402

TINY = {
    "text": {"hidden_size": 16, "intermediate_size": 32, "num_attention_heads": 2,
             "num_hidden_layers": 2, "projection_dim": 16},
    "unet": {"block_out_channels": (16, 32), "layers_per_block": 1, "sample_size": 8,
             "norm_num_groups": 8, "cross_attention_dim": 16, "attention_head_dim": 4,
             "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D"),
             "up_block_types": ("CrossAttnUpBlock2D", "UpBlock2D")},
    "vae": {"block_out_channels": (8, 8, 8, 8), "layers_per_block": 1, "norm_num_groups": 4,
            "sample_size": 64},
}  # fmt: skip
# Stable Diffusion 1.5's shapes (the diffusers defaults are SD 1.x's UNet; CLIP ViT-L/14 text).
SD15 = {
    "text": {"hidden_size": 768, "intermediate_size": 3072, "num_attention_heads": 12,
             "num_hidden_layers": 12, "projection_dim": 768},
    "unet": {"sample_size": 64, "cross_attention_dim": 768, "attention_head_dim": 8},
    "vae": {"block_out_channels": (128, 256, 512, 512), "layers_per_block": 2,
            "sample_size": 512},
}  # fmt: skip


def build_folder(folder: Path, shapes: dict, dtype: torch.dtype) -> Path:
    """A random-weight SD pipeline of the given shapes, saved with save_pretrained."""
    chars = list(string.ascii_lowercase + string.digits + " ,.")
    vocab = {c: i for i, c in enumerate(chars)}
    vocab |= {c + "</w>": len(chars) + i for i, c in enumerate(chars)}
    vocab |= {"<|startoftext|>": len(vocab), "<|endoftext|>": len(vocab) + 1}
    end = vocab["<|endoftext|>"]
    torch.manual_seed(0)  # the constructors draw from the global RNG
    text = CLIPTextConfig(
        vocab_size=len(vocab), max_position_embeddings=77, bos_token_id=end - 1,
        eos_token_id=end, pad_token_id=end, **shapes["text"],
    )  # fmt: skip
    blocks = len(shapes["vae"]["block_out_channels"])
    pipe = StableDiffusionPipeline(
        vae=AutoencoderKL(
            latent_channels=4, down_block_types=("DownEncoderBlock2D",) * blocks,
            up_block_types=("UpDecoderBlock2D",) * blocks, **shapes["vae"],
        ),
        text_encoder=CLIPTextModel(text),
        tokenizer=CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77),
        unet=UNet2DConditionModel(**shapes["unet"]),
        scheduler=EulerDiscreteScheduler(
            beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
            timestep_spacing="trailing", steps_offset=1,
        ),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )  # fmt: skip
    pipe.to(dtype).save_pretrained(folder)
    return folder


def walk_latents(shape: tuple[int, ...], frames: int) -> torch.Tensor:
    """The walk gencode renders: slerp between the noises of seeds 1 and 2, (F, C, h, w)."""
    a, b = (torch.randn(shape, generator=torch.Generator().manual_seed(s)) for s in (1, 2))
    ca, cb = slerp_coefficients(a, b, ease_times(frames, "linear"))
    view = (-1, *([1] * a.ndim))
    return ca.float().reshape(view) * a[None] + cb.float().reshape(view) * b[None]


def script_text(args: argparse.Namespace) -> str:
    return (
        f'model "{args.model.name}"\nsize {args.size}\nsteps {args.steps}\n'
        f'guidance {args.guidance}\nsampler euler\nprompt "{args.prompt}"\n'
        f"a = noise seed 1\nb = noise seed 2\ninterpolate latent a b {args.frames} as walk\n"
    )


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device: torch.device) -> tuple[float, torch.Tensor]:
    sync(device)
    t0 = time.perf_counter()
    out = fn()
    sync(device)
    return time.perf_counter() - t0, out


def gencode_walk(args: argparse.Namespace, device: torch.device):
    """A function rendering the walk with gencode (a cold value cache, the model loaded)."""
    path = args.model.parent / "walk.gen"
    path.write_text(script_text(args), encoding="utf-8")
    args.made.append(path)  # beside the model (scripts read only their own folder); removed at exit
    script = load_script(path)
    ex = Executor(device.type, chunk=args.chunk)
    ex.add_models(script.catalog.resolved)

    def render() -> torch.Tensor:
        ex.memory.clear()  # every run computes everything again
        return ex.run(script.graph, path.parent).values["walk"]  # (F, 3, H, W)

    return render


def diffusers_walk(args: argparse.Namespace, device: torch.device):
    """A function rendering the same walk by calling the pipeline once per frame."""
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    pipe = StableDiffusionPipeline.from_pretrained(
        args.model, local_files_only=True, torch_dtype=dtype, safety_checker=None
    ).to(device)
    pipe.set_progress_bar_config(disable=True)
    latents = walk_latents((4, args.size // 8, args.size // 8), args.frames)

    def render() -> torch.Tensor:
        frames = [
            pipe(
                args.prompt, latents=z[None].to(device, dtype), num_inference_steps=args.steps,
                guidance_scale=args.guidance, height=args.size, width=args.size,
                output_type="pt",
            ).images[0]
            for z in latents
        ]  # fmt: skip
        return torch.stack(frames)

    return render


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=24)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--guidance", type=float, default=7.5)
    p.add_argument("--prompt", default="dunes at dawn, soft light")
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--repeats", type=int, default=2, help="timings per side (the best is kept)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--chunk", type=int, default=0, help="gencode's frames per batch (0: all)")
    p.add_argument("--size", type=int, default=0, help="image side (0: the model's own)")
    p.add_argument("--model", type=Path, default=None, help="an SD folder (default: random)")
    p.add_argument("--full", action="store_true", help="SD 1.5 shapes on the CPU too")
    args = p.parse_args(argv)
    args.made = []  # temp folders and files this run makes, removed by `cleanup`
    return args


def cleanup(args: argparse.Namespace) -> None:
    """Remove what the run made: the model folder built from configs, the walk script."""
    for path in reversed(args.made):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def prepare(args: argparse.Namespace) -> torch.device:
    """Device, threads, and the model folder (built from configs unless one was given)."""
    cuda = torch.cuda.is_available() and args.device != "cpu"
    device = torch.device("cuda" if cuda else "cpu")
    torch.set_num_threads(args.threads)
    args.chunk = args.chunk or args.frames
    if args.model is None:
        full = cuda or args.full
        shapes, dtype = (SD15 if full else TINY), (torch.float16 if cuda else torch.float32)
        temp = Path(tempfile.mkdtemp(prefix="gencode-sd-bench-"))
        args.made.append(temp)
        args.model = build_folder(temp / ("sd15" if full else "tiny"), shapes, dtype)
    args.model = args.model.resolve()
    if not args.size:
        from gencode.models.sd_folder import folder_ref

        args.size = int(folder_ref(args.model).meta["size"])
    return device


def main() -> None:
    for logging in (diffusers_logging, transformers_logging):  # bars would bury the figures
        logging.disable_progress_bar()
        logging.set_verbosity_error()
    args = arguments()
    try:
        compare(args, prepare(args))
    finally:
        cleanup(args)


def compare(args: argparse.Namespace, device: torch.device) -> None:
    sides = {"gencode": gencode_walk(args, device), "diffusers": diffusers_walk(args, device)}
    best: dict[str, float] = {}
    outputs: dict[str, torch.Tensor] = {}
    for fn in sides.values():  # warm-up: loading, allocator and kernel selection
        timed(fn, device)
    for _ in range(args.repeats):
        for name, fn in sides.items():
            seconds, outputs[name] = timed(fn, device)
            best[name] = min(best.get(name, seconds), seconds)
    diff = (outputs["gencode"].float().cpu() - outputs["diffusers"].float().cpu()).abs().max()
    g, d = best["gencode"] / args.frames, best["diffusers"] / args.frames
    print(
        f"{args.frames} frames x {args.steps} steps at {args.size}x{args.size}, guidance "
        f"{args.guidance:g}, {args.model.name} on {device} ({torch.get_num_threads()} thread(s))"
    )
    print(f"gencode (batches of {args.chunk}): {g:.4f} s per frame")
    print(f"diffusers pipeline per frame:  {d:.4f} s per frame")
    print(f"largest pixel difference between the two: {float(diff):.2e}")
    print(
        f"gencode is {d / g:.2f}x faster per frame than a StableDiffusionPipeline loop ({device})"
    )


if __name__ == "__main__":
    main()
