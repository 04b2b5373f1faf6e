"""Training the latent autoencoder: a recipe (family "autoencoder") → an autoencoder checkpoint.

Fully convolutional, so it trains on random crops of a pool of procedural images drawn once from
the seed at the recipe's sizes (256 and 128 px by default: the sizes the diffusion model renders).
Loss: L1 + MSE on pixels, plus L1 on image gradients (edges stay sharp), with a small L2 pull on
the latents so their scale stays bounded. The decoder also sees latents with a little noise added,
so the imperfect latents a few-step sampler produces still decode cleanly. Afterwards the latent
scale (1 / std of the latents of fresh images) is measured and stored, and PSNR on fresh images
is written to the checkpoint's meta.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from gencode.data import dataset
from gencode.models.autoencoder import Autoencoder, AutoencoderConfig, load_autoencoder
from gencode.models.checkpoint import save_checkpoint
from gencode.train import resumable as R

DEFAULT_OPTIONS: dict[str, Any] = {
    "pool": 4000,  # images per size, drawn once from the seed
    "sizes": [256, 128],  # pool image sizes; crops of recipe.size are cut from them
    "latent_l2": 1e-4,
    "latent_noise": 0.1,  # decoder input noise, relative to the batch's latent std
    "grad_weight": 0.5,
    "eval_images": 64,  # fresh images (another seed) for the PSNR in the checkpoint
    "init": "",  # an autoencoder checkpoint to start from
    "decoder_only": False,  # keep the encoder (and so every latent) exactly as in `init`
    "into": "",  # an "ldm" checkpoint whose autoencoder this run replaces: output is that model
}
EVAL_SEED_OFFSET = 7_777_777


def options(recipe: Any) -> dict[str, Any]:
    """The recipe's [autoencoder] table over the defaults; unknown keys are an error."""
    bad = sorted(set(recipe.options) - set(DEFAULT_OPTIONS))
    if bad:
        raise ValueError(f"{recipe.source}: unknown key(s) in [autoencoder]: {', '.join(bad)}")
    return {**DEFAULT_OPTIONS, **recipe.options}


def pools(recipe: Any, opts: dict[str, Any], seed: int, n: int) -> list[torch.Tensor]:
    """uint8 (N, 3, S, S) image pools, one per size."""
    data = dataset(recipe.dataset)
    return [R.images_to_tensor(data.generate(n, seed + s, s)[0]) for s in opts["sizes"]]


def random_crops(pool: list[torch.Tensor], batch: int, crop: int, g: torch.Generator):
    """A batch of crop×crop patches in [-1, 1], half from each pool."""
    out = []
    for i in range(batch):
        p = pool[i % len(pool)]
        j = int(torch.randint(0, len(p), (1,), generator=g))
        side = p.shape[-1]
        y, x = (int(v) for v in torch.randint(0, side - crop + 1, (2,), generator=g))
        out.append(p[j, :, y : y + crop, x : x + crop])
    return R.to_unit(torch.stack(out))  # (B, 3, crop, crop)


def gradients(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Horizontal and vertical finite differences."""
    return x[..., :, 1:] - x[..., :, :-1], x[..., 1:, :] - x[..., :-1, :]


def loss_terms(ae: Autoencoder, x: torch.Tensor, opts: dict, g: torch.Generator) -> dict:
    """Reconstruction, edge and latent terms of one batch."""
    with torch.set_grad_enabled(
        ae.encoder.training and any(p.requires_grad for p in ae.encoder.parameters())
    ):
        z = ae.encoder(x)  # (B, C, h, w), unscaled while training
    noise = torch.randn(z.shape, generator=g) * z.detach().std() * opts["latent_noise"]
    y = ae.decoder(z + noise)
    (gx, gy), (hx, hy) = gradients(x), gradients(y)
    return {
        "l1": (y - x).abs().mean(),
        "mse": (y - x).pow(2).mean(),
        "edge": (gx - hx).abs().mean() + (gy - hy).abs().mean(),
        "zl2": z.pow(2).mean(),
    }


def train(recipe: Any, *, resume: bool, progress: bool) -> Path:
    """Train the autoencoder a recipe describes; write its checkpoint; return its path."""
    if recipe.threads:
        torch.set_num_threads(recipe.threads)
    opts = options(recipe)
    cfg = AutoencoderConfig.from_dict(recipe.model)
    if recipe.size % cfg.factor:
        raise ValueError(f"{recipe.source}: crop size {recipe.size} is not a multiple of 8")
    model = R.init_seeded(recipe.seed, lambda: Autoencoder(cfg))
    if opts["init"]:
        model.load_state_dict(load_autoencoder(opts["init"]).state_dict())
    if opts["decoder_only"]:
        model.encoder.requires_grad_(False)
    ema = R.EMA(model, recipe.ema_decay)
    trained = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trained, recipe.lr, weight_decay=0.0)
    g = torch.Generator().manual_seed(recipe.seed)
    pool = pools(recipe, opts, recipe.seed, int(opts["pool"]))

    def step(i: int) -> dict[str, float]:
        R.set_lr(opt, R.lr_at(recipe, i))
        x = random_crops(pool, recipe.batch, recipe.size, g)
        t = loss_terms(model, x, opts, g)
        loss = t["l1"] + t["mse"] + opts["grad_weight"] * t["edge"] + opts["latent_l2"] * t["zl2"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if recipe.grad_clip:
            torch.nn.utils.clip_grad_norm_(trained, recipe.grad_clip)
        opt.step()
        ema.update(model)
        return {"loss": loss.item(), "psnr": psnr(t["mse"].item())}

    objects = {"model": model, "ema": ema.model, "opt": opt, "rng": g}
    R.run_steps(recipe, objects, step, resume=resume, progress=progress)
    return finish(recipe, ema.model, opts)


def psnr(mse: float) -> float:
    """PSNR in dB of an MSE measured on images in [-1, 1]."""
    return 10 * math.log10(4.0 / max(mse, 1e-12))


@torch.no_grad()
def evaluate(ae: Autoencoder, images: torch.Tensor, batch: int = 8) -> float:
    """PSNR (dB, on uint8-rounded outputs) of whole images through the autoencoder."""
    total = 0.0
    for x in images.split(batch):
        x = R.to_unit(x)
        y = ((ae(x).clamp(-1, 1) + 1) * 127.5).round() / 127.5 - 1
        total += (y - x).pow(2).mean().item() * len(x)
    return psnr(total / len(images))


@torch.no_grad()
def measure_scale(ae: Autoencoder, images: torch.Tensor) -> float:
    """1 / std of the (unscaled) latents of images: scaled latents have unit variance."""
    z = torch.cat([ae.encoder(R.to_unit(x)) for x in images.split(8)])
    return float(1.0 / z.std())


def finish(recipe: Any, ae: Autoencoder, opts: dict[str, Any]) -> Path:
    """Measure the latent scale and fresh-image PSNR per size; write the checkpoint."""
    ae.eval()
    fresh = pools(recipe, opts, recipe.seed + EVAL_SEED_OFFSET, int(opts["eval_images"]))
    if not opts["decoder_only"]:  # the latents stay those of `init` otherwise
        ae.latent_scale.fill_(measure_scale(ae, fresh[0]))
    meta = {
        "dataset": recipe.dataset,
        "factor": ae.cfg.factor,
        "latent_channels": ae.cfg.latent_channels,
        "scaling_factor": float(ae.latent_scale),  # diffusers' name for it
        "psnr": {
            str(s): round(evaluate(ae, p), 2) for s, p in zip(opts["sizes"], fresh, strict=True)
        },
        "recipe": {"name": recipe.name, "seed": recipe.seed, "steps": recipe.steps},
    }
    own = recipe.run_path / f"{recipe.name}-autoencoder.safetensors" if opts["into"] else None
    path = own or recipe.output_path
    save_checkpoint(path, ae.state_dict(), "autoencoder", recipe.arch, ae.cfg.to_dict(), meta)
    if not opts["into"]:
        return path
    if not Path(opts["into"]).is_file():
        raise ValueError(
            f"{recipe.source}: [autoencoder] into: {opts['into']} does not exist yet; train it, "
            f"then `gencode train {recipe.name} --resume` finishes this run"
        )
    return replace_autoencoder(Path(opts["into"]), ae, meta, recipe.output_path)


def replace_autoencoder(ldm: Path, ae: Autoencoder, ae_meta: dict[str, Any], out: Path) -> Path:
    """A copy of a latent diffusion checkpoint with this autoencoder in it (same latents only)."""
    from gencode.models.checkpoint import load_tensors, read_info

    info = read_info(ldm)
    if info.config.get("autoencoder") != ae.cfg.to_dict():
        raise ValueError(f"{ldm}: its autoencoder has another shape; retrain it on this one")
    tensors = {k: v for k, v in load_tensors(ldm).items() if not k.startswith("autoencoder.")}
    tensors.update(R.prefixed("autoencoder", ae))
    meta = {**info.meta, "autoencoder": {**info.meta.get("autoencoder", {}), **ae_meta}}
    save_checkpoint(out, tensors, info.family, info.arch, info.config, meta)
    return out
