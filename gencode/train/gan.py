"""Training a GAN: a recipe (family "gan", arch "mlp-gan" or "dcgan") -> a generator checkpoint.

Non-saturating GAN loss with Adam(0.5, 0.999); the shipped generator is the EMA of the trained one,
with its BatchNorm statistics recomputed for the EMA weights. Afterwards, InterFaceGAN: sample z,
let the faces judge label the generated faces and fit the attribute edits (gencode.train.edits).
A recipe's `init` grows a smaller GAN's generator (progressive growing). With `conditioned = true`
the first coordinates of z carry the dataset's labelled attributes and the critic sees the labels
too (gencode.train.gan_codes), so each attribute is drawn from its own coordinates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gencode.models import gan
from gencode.models.checkpoint import save_checkpoint
from gencode.models.directions import LatentEdits, to_tensors
from gencode.train import resumable as R
from gencode.train.edits import judge_path, judged_edits
from gencode.train.gan_codes import Codes, ProjectionCritic

FINISH_SEED_OFFSET = 7_777_777  # latents for BN statistics and directions: not the training draws


def train(recipe: Any, *, resume: bool, progress: bool) -> Path:
    """Train the GAN a recipe describes; write its checkpoint; return the checkpoint's path."""
    if recipe.threads:
        torch.set_num_threads(recipe.threads)
    codes = conditioning(recipe)
    cfg = gan.make_config(recipe.arch, {**recipe.model, "size": recipe.size})
    config = gan.config_dict(cfg)
    if codes and codes.dim >= cfg.latent_dim:
        raise ValueError(
            f"{recipe.source}: latent_dim {cfg.latent_dim} cannot carry {codes.dim} codes"
        )
    G, D = R.init_seeded(recipe.seed, lambda: gan.build(recipe.arch, config))
    if codes:
        D = R.init_seeded(recipe.seed + 1, lambda: ProjectionCritic(D, codes.dim))
    if recipe.options.get("init"):
        grow_from(G, recipe, recipe.options["init"])
    ema = R.EMA(G, recipe.ema_decay)
    betas = (0.5, 0.999)  # DCGAN's: a lower beta1 keeps the two players from oscillating
    opt_g = torch.optim.Adam(G.parameters(), recipe.lr, betas=betas)
    d_ratio = float(recipe.options.get("d_lr_ratio", 1.0))  # TTUR: the critic may learn faster
    opt_d = torch.optim.Adam(D.parameters(), recipe.lr * d_ratio, betas=betas)
    g = torch.Generator().manual_seed(recipe.seed)
    pool, pool_labels = labelled_pool(recipe, codes) if codes else (R.image_pool(recipe), None)
    smooth = float(recipe.options.get("real_label", 1.0))  # one-sided label smoothing if < 1
    label_weight = float(recipe.options.get("label_weight", 1.0))  # conditioned: labels' loss

    def step(i: int) -> dict[str, float]:
        lr = R.lr_at(recipe, i)
        R.set_lr(opt_g, lr)
        R.set_lr(opt_d, lr * d_ratio)
        idx = R.batch_indices(len(pool), recipe.batch, g)
        real = R.to_unit(pool[idx])  # (B, 3, H, W)
        z = torch.randn(recipe.batch, cfg.latent_dim, generator=g)  # (B, D)
        labels = (pool_labels[idx], codes.of_latents(z), label_weight) if codes else None
        losses = gan_step(G, D, opt_g, opt_d, real, z, smooth, recipe.grad_clip, labels)
        ema.update(G)
        return losses

    objects = {"G": G, "D": D, "ema": ema.model, "opt_g": opt_g, "opt_d": opt_d, "rng": g}
    R.run_steps(recipe, objects, step, resume=resume, progress=progress)
    return _finish(recipe, ema.model, config)


def conditioning(recipe: Any) -> Codes | None:
    """The recipe's latent codes when it asks for `conditioned = true` (procedural datasets with
    labelled attributes and a convolutional critic only)."""
    from gencode.data import DATASETS, dataset

    if not recipe.options.get("conditioned"):
        return None
    attributes = getattr(dataset(recipe.dataset), "ATTRIBUTES", None) if (
        recipe.dataset in DATASETS) else None  # fmt: skip
    if not attributes or recipe.arch != "dcgan":
        raise ValueError(
            f"{recipe.source}: conditioned = true needs a dcgan on a procedural dataset with "
            f"labelled attributes (faces), not {recipe.arch} on {recipe.dataset}"
        )
    return Codes(attributes)


def labelled_pool(recipe: Any, codes: Codes) -> tuple[torch.Tensor, torch.Tensor]:
    """The training images (as R.image_pool paints them) and their true label vectors."""
    images, labels = R.procedural_pool(recipe)
    return images, codes.of_labels(labels)


def grow_from(G: nn.Module, recipe: Any, path: str) -> None:
    """Progressive growing: G starts from a smaller GAN's generator (a 64 px DCGAN of half the
    width shares every layer up to 16x16 with a 32 px one); the rest keeps its fresh init."""
    if not Path(path).is_file():
        raise ValueError(f"{recipe.source}: init checkpoint {path} not found; run its recipe first")
    R.grow(G, gan.load_generator(path).state_dict())


def gan_step(
    G: nn.Module,
    D: nn.Module,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    real: torch.Tensor,
    z: torch.Tensor,
    smooth: float,
    clip: float,
    labels: tuple[torch.Tensor, torch.Tensor, float] | None = None,
) -> dict[str, float]:
    """One critic update then one generator update (non-saturating loss); the step's figures.
    labels: (the real faces' label vectors, the ones z carries, the weight of the label loss)
    for a conditioned critic (gan_codes.ProjectionCritic): it sees the labels, learns to read
    them on real faces, and the generator is held to the ones its z carries."""
    fake = G(z)  # (B, 3, H, W)
    if labels is None:
        d_real, d_fake = D(real), D(fake.detach())  # (B,), (B,)
        loss_d = _bce(d_real, smooth) + _bce(d_fake, 0.0)
        _update(opt_d, loss_d, D, clip)
        d_gen = D(fake)
        loss_g = _bce(d_gen, 1.0)  # non-saturating
        figures = {}
    else:
        y_real, y_fake, weight = labels
        (d_real, read_real), d_fake = D.read(real, y_real), D(fake.detach(), y_fake)
        misread = F.mse_loss(read_real, y_real)
        loss_d = _bce(d_real, smooth) + _bce(d_fake, 0.0) + weight * misread
        _update(opt_d, loss_d, D, clip)
        d_gen, read_gen = D.read(fake, y_fake)
        off_label = F.mse_loss(read_gen, y_fake)
        loss_g = _bce(d_gen, 1.0) + weight * off_label
        figures = {"misread": misread.item(), "off_label": off_label.item()}
    _update(opt_g, loss_g, G, clip)
    return {
        "d": loss_d.item(),
        "g": loss_g.item(),
        "p_real": torch.sigmoid(d_real).mean().item(),
        "p_fake": torch.sigmoid(d_fake).mean().item(),
        **figures,
    }


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    """Binary cross-entropy of logits against one target for all."""
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def _update(opt: torch.optim.Optimizer, loss: torch.Tensor, model: nn.Module, clip: float) -> None:
    """One optimizer step on one player's loss."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if clip:
        nn.utils.clip_grad_norm_(model.parameters(), clip)
    opt.step()


def refit(recipe: Any, source: Path) -> Path:
    """A finished GAN's edits recomputed with today's code and judge, without training: the
    generator of `source` finished as training finishes (the same draws), written to the recipe's
    output."""
    config = gan.config_dict(gan.make_config(recipe.arch, {**recipe.model, "size": recipe.size}))
    R.check_config(recipe, source, config)
    return _finish(recipe, gan.load_generator(source), config)


def _finish(recipe: Any, G: nn.Module, config: dict[str, Any]) -> Path:
    """Recompute BN statistics, fit attribute directions, write the checkpoint."""
    seed = recipe.seed + FINISH_SEED_OFFSET
    n_bn = int(recipe.options.get("bn_samples", 4096))
    g = torch.Generator().manual_seed(seed)
    R.recalibrate_batchnorm(G, torch.randn(n_bn, *G.latent_shape, generator=g))
    edits, meta_dir = LatentEdits({}), dict[str, Any]()
    if recipe.options.get("judge"):
        judge_file = judge_path(recipe.options["judge"])
        n = int(recipe.options.get("direction_samples", 4000))
        refine = int(recipe.options.get("disentangle", 0))
        edits, meta_dir = judged_edits(G, config["latent_dim"], judge_file, n, seed + 1, refine)
    meta = {
        "dataset": recipe.dataset,
        "size": recipe.size,
        "native_sizes": [recipe.size],
        "z_dim": config["latent_dim"],
        "latent_shape": list(G.latent_shape),
        "output_range": [-1.0, 1.0],
        "attributes": sorted(edits),
        "directions": meta_dir,
        "recipe": {"name": recipe.name, "seed": recipe.seed, "steps": recipe.steps},
    }
    codes = conditioning(recipe)
    if codes:
        meta["codes"] = codes.describe()
    tensors = {**R.prefixed("generator", G), **to_tensors(edits)}
    save_checkpoint(recipe.output_path, tensors, "gan", recipe.arch, config, meta)
    return recipe.output_path
