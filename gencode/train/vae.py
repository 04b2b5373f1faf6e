"""Training a VAE: a recipe (family "vae") -> a VAE checkpoint with attribute directions.

The ELBO's KL weight ramps up over `kl_warmup` steps (so the decoder learns to use z before the
prior pulls it in); the shipped VAE is the EMA of the trained weights. Afterwards its public latent
space is fitted to the codes of fresh images (see VAE.fit_prior), and, for a labelled dataset, each
attribute's edit is fitted: from what the recipe's judge sees in decoded prior samples (as the GAN's,
gencode.train.edits), or without a judge from the mean latent of faces with it minus without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from gencode.data import dataset
from gencode.models import classifier as C
from gencode.models import vae as V
from gencode.models.checkpoint import save_checkpoint
from gencode.models.directions import LatentEdits, fit_edits, mean_difference, to_tensors
from gencode.train import resumable as R
from gencode.train.edits import judge_path, judged_edits

DIRECTION_SEED_OFFSET = 5_555_555  # fresh labelled faces for the directions: not the training pool


def train(recipe: Any, *, resume: bool, progress: bool) -> Path:
    """Train the VAE a recipe describes; write its checkpoint; return the checkpoint's path."""
    if recipe.threads:
        torch.set_num_threads(recipe.threads)
    cfg = V.make_config({**recipe.model, "size": recipe.size})
    model = R.init_seeded(recipe.seed, lambda: V.VAE(cfg))
    if recipe.options.get("init"):
        grow_from(model, recipe, recipe.options["init"])
    ema = R.EMA(model, recipe.ema_decay)
    opt = torch.optim.Adam(model.parameters(), recipe.lr)
    g = torch.Generator().manual_seed(recipe.seed)
    pool = R.image_pool(recipe)
    beta = float(recipe.options.get("beta", 1.0))
    kl_warmup = int(recipe.options.get("kl_warmup", 0))

    def step(i: int) -> dict[str, float]:
        R.set_lr(opt, R.lr_at(recipe, i))
        x = R.to_unit(pool[R.batch_indices(len(pool), recipe.batch, g)])  # (B, 3, H, W)
        recon, mu, logvar = model(x, g)
        b = beta * min(1.0, (i + 1) / kl_warmup) if kl_warmup else beta
        loss, rec, kl = V.elbo_loss(x, recon, mu, logvar, cfg.sigma_x, b)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if recipe.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.grad_clip)
        opt.step()
        ema.update(model)
        mse = (x - recon).pow(2).mean().item()
        return {"loss": loss.item(), "rec": rec.item(), "kl": kl.item(), "mse": mse}

    objects = {"model": model, "ema": ema.model, "opt": opt, "rng": g}
    R.run_steps(recipe, objects, step, resume=resume, progress=progress)
    return _finish(recipe, ema.model)


def grow_from(vae: V.VAE, recipe: Any, path: str) -> None:
    """Progressive growing: a VAE starts from a smaller one (a 64 px VAE of half the width shares
    the encoder's last levels, the latent layers and the decoder's first levels with a 32 px one);
    the layers at full resolution keep their fresh init."""
    if not Path(path).is_file():
        raise ValueError(f"{recipe.source}: init checkpoint {path} not found; run its recipe first")
    old = {k: v for k, v in V.load_vae(path).state_dict().items() if not k.startswith("latent_")}
    R.grow(vae, old, from_end=("encoder",))


def fit_latents(vae: V.VAE, recipe: Any) -> tuple[LatentEdits, dict[str, Any]]:
    """Fit the public latent space to fresh images; then the attribute edits and their meta: from
    the recipe's judge reading decoded prior samples, else mean differences of labelled codes."""
    from gencode.train.classifier import heads_for, labelled

    n = int(recipe.options.get("direction_samples", 4000))
    mod = _dataset_module(recipe.dataset)
    if mod is None or not hasattr(mod, "ATTRIBUTES"):  # a folder, or data without labels
        vae.fit_prior(V.posterior_means(vae, R.to_unit(R.image_pool(recipe))))
        return LatentEdits({}), {}
    heads = heads_for(recipe.dataset)
    x, y = labelled(recipe.dataset, n, recipe.seed + DIRECTION_SEED_OFFSET, recipe.size, heads)
    x = R.to_unit(x)
    vae.fit_prior(V.posterior_means(vae, x))
    if recipe.options.get("judge"):  # edit what users sample, as the judge reads it
        judge_file = judge_path(recipe.options["judge"])
        seed = recipe.seed + DIRECTION_SEED_OFFSET + 1
        refine = int(recipe.options.get("disentangle", 0))
        return judged_edits(vae.decode, vae.cfg.latent_dim, judge_file, n, seed, refine)
    z = V.encode_images(vae, x)  # (N, D) in the fitted latent space
    masks = C.binary_labels(heads, y, logits=False)
    values = {k: spec["values"] for k, spec in heads.items() if spec["kind"] == "categorical"}
    levels = [k for k, spec in heads.items() if spec["kind"] == "continuous"]
    classes = C.categories(heads, y, logits=False)
    edits = fit_edits(z, masks, classes, values, mean_difference, levels)
    return edits, {
        "method": "mean-difference, conditional (each orthogonal to the others), with reach",
        "samples": n,
        "amount": "1.0 moves a latent by the gap between typical faces without and with it",
        "categorical": {g: list(c.names) for g, c in edits.categories.items()},
    }


def refit(recipe: Any, source: Path) -> Path:
    """A finished VAE's latent space and edits refitted with today's code, without training
    (the same fresh faces as training's finish), written to the recipe's output."""
    vae = V.load_vae(source)
    R.check_config(
        recipe, source, V.config_dict(V.make_config({**recipe.model, "size": recipe.size}))
    )
    return _finish(recipe, vae)


def _finish(recipe: Any, vae: V.VAE) -> Path:
    """Fit the latent space and the attribute directions, write the checkpoint."""
    vae.eval()
    edits, directions = fit_latents(vae, recipe)
    meta = {
        "dataset": recipe.dataset,
        "size": recipe.size,
        "native_sizes": [recipe.size],
        "z_dim": vae.cfg.latent_dim,
        "latent_shape": list(vae.latent_shape),
        "output_range": [-1.0, 1.0],
        "prior": "full-covariance Gaussian fitted to the posterior means of fresh images",
        "attributes": sorted(edits),
        "directions": directions,
        "recipe": {"name": recipe.name, "seed": recipe.seed, "steps": recipe.steps},
    }
    tensors = {**R.prefixed("vae", vae), **to_tensors(edits)}
    save_checkpoint(recipe.output_path, tensors, "vae", recipe.arch, V.config_dict(vae.cfg), meta)
    return recipe.output_path


def _dataset_module(name: str) -> Any:
    """The procedural dataset module of a name, or None for a folder of images."""
    from gencode.data import DATASETS

    return dataset(name) if name in DATASETS else None
