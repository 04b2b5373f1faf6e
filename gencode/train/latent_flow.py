"""Training latent diffusion (rectified flow): a recipe (family "latent_diffusion") → an "ldm"
checkpoint holding the UNet and its autoencoder.

The autoencoder comes trained (its own recipe, `[latent_diffusion] autoencoder = PATH`). A pool
of procedural images at each native size is painted once from the seed and encoded once (cached in
the run folder, keyed by the autoencoder's sha256), so a step costs only the UNet. Objective
(Liu et al. 2022; SD3's logit-normal times): x_t = (1 − t)·x0 + t·ε, the UNet predicts v = ε − x0.
Steps alternate between the sizes, so one model is native at all of them. Every draw of a step
comes from the run's generator, saved with the state: `--resume` continues bit for bit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from gencode.data import dataset
from gencode.models.autoencoder import load_autoencoder
from gencode.models.checkpoint import file_sha256, save_checkpoint
from gencode.models.unet import UNet, UNetConfig
from gencode.train import resumable as R
from gencode.train.datasets import load_data

DEFAULT_OPTIONS: dict[str, Any] = {
    "autoencoder": "runs/scenes-ae/scenes-ae.safetensors",
    "sizes": [256, 128],  # native image sizes; steps alternate between them
    "pool": 8000,  # images per size, painted and encoded once
    "shift": 3.0,  # sampling time shift towards noise (SD3): few-step images keep their layout
    "default_steps": 20,
    "live_steps": 4,
    "default_guidance": 3.0,
    "default_sampler": "euler",
    "init": "",  # an "ldm" checkpoint whose UNet this run starts from (a refining stage)
    "focus": {},  # {"word" or "word word": weight}: captions with all the words, weight x as often
}
POOL_FILE = "latents.pt"


def options(recipe: Any) -> dict[str, Any]:
    """The recipe's [latent_diffusion] table over the defaults; unknown keys are an error."""
    bad = sorted(set(recipe.options) - set(DEFAULT_OPTIONS))
    if bad:
        raise ValueError(f"{recipe.source}: unknown key(s) in [latent_diffusion]: {', '.join(bad)}")
    return {**DEFAULT_OPTIONS, **recipe.options}


@torch.no_grad()
def encode_pool(recipe: Any, opts: dict[str, Any], ae: Any, size: int) -> dict[str, Any]:
    """Paint `pool` captioned images at one size and encode them: float16 latents + captions."""
    data, n, chunk = dataset(recipe.dataset), int(opts["pool"]), 250
    latents, captions = [], []
    for k in range(0, n, chunk):
        images, labels = data.generate(min(chunk, n - k), recipe.seed * 1000 + size + k, size)
        x = R.to_unit(R.images_to_tensor(images))
        latents += [ae.encode(b).half() for b in x.split(16)]
        captions += [lb["caption"] for lb in labels]
    return {"latents": torch.cat(latents), "captions": captions}


def latent_pools(recipe: Any, opts: dict[str, Any]) -> tuple[list[dict[str, Any]], Any, str]:
    """One encoded pool per size (from the run folder's cache when it matches), the AE, its hash."""
    ae_path = Path(opts["autoencoder"])
    if not ae_path.is_file():
        raise ValueError(
            f"{recipe.source}: autoencoder {ae_path} not found; train it first "
            "(gencode train scenes-ae)"
        )
    ae, sha = read_autoencoder(ae_path), file_sha256(ae_path)
    key = {"ae": sha, "sizes": opts["sizes"], "pool": opts["pool"], "seed": recipe.seed}
    cache = recipe.run_path / POOL_FILE
    if cache.exists():
        saved = torch.load(cache, weights_only=True)
        if saved.get("key") == repr(key):
            return saved["pools"], ae, sha
    pools = [encode_pool(recipe, opts, ae, s) for s in opts["sizes"]]
    recipe.run_path.mkdir(parents=True, exist_ok=True)
    torch.save({"key": repr(key), "pools": pools}, cache)
    return pools, ae, sha


def read_autoencoder(path: Path) -> Any:
    """The autoencoder of its own checkpoint, or the one inside an "ldm" checkpoint (a stage that
    refines a finished model encodes with, and ships, that model's autoencoder)."""
    from gencode.models.checkpoint import read_info

    return load_autoencoder(path, prefix="autoencoder" if read_info(path).arch == "ldm" else "")


def focus_weights(
    source: Any, captions: list[str], focus: dict[str, float], ids_of: Any, vocabulary: list[str]
) -> torch.Tensor | None:
    """How often each pool item is drawn (None: uniformly): the product of the `focus` weights
    whose words its caption has, words read as the model reads them (aliases included). A key
    of several words ("moon day") counts where the caption has all of them."""
    if not focus:
        return None
    keys = {key: [vocabulary.index(w) if w in vocabulary else -1 for w in key.split()]
            for key in focus}  # fmt: skip
    bad = [key for key, ids in keys.items() if not ids or -1 in ids or float(focus[key]) <= 0]
    if bad:
        raise ValueError(
            f"{source}: [latent_diffusion] focus: {', '.join(bad)}: each key must be vocabulary "
            "words with a positive weight"
        )
    weights = [1.0] * len(captions)
    for i, caption in enumerate(captions):
        has = set(ids_of(caption))
        for key, ids in keys.items():
            if has.issuperset(ids):
                weights[i] *= float(focus[key])
    return torch.tensor(weights, dtype=torch.float64)


def flow_batch(
    pool: dict[str, Any],
    recipe: Any,
    ids_of: Any,
    g: torch.Generator,
    weights: torch.Tensor | None = None,
):
    """(x_t, t·1000, word ids, target v) for one step, every draw from g; weights: how often
    each pool item is drawn (see focus_weights), uniformly when None."""
    if weights is None:
        idx = torch.randint(0, len(pool["latents"]), (recipe.batch,), generator=g)
    else:
        idx = torch.multinomial(weights, recipe.batch, replacement=True, generator=g)
    x0 = pool["latents"][idx].float()  # (B, 4, h, w)
    flip = torch.rand(recipe.batch, generator=g) < 0.5  # landscapes read the same mirrored
    x0 = torch.where(flip[:, None, None, None], x0.flip(-1), x0)
    t = torch.sigmoid(torch.randn(recipe.batch, generator=g))  # logit-normal times (B,)
    eps = torch.randn(x0.shape, generator=g)
    keep = torch.rand(recipe.batch, generator=g) >= recipe.prompt_dropout
    ids = [
        ids_of(pool["captions"][i]) if k else []
        for i, k in zip(idx.tolist(), keep.tolist(), strict=True)
    ]
    tb = t[:, None, None, None]
    return (1 - tb) * x0 + tb * eps, t * 1000, ids, eps - x0


def train(recipe: Any, *, resume: bool, progress: bool) -> Path:
    """Train the latent flow model a recipe describes; write its checkpoint; return its path."""
    if recipe.threads:
        torch.set_num_threads(recipe.threads)
    opts = options(recipe)
    words = load_data(recipe.dataset, recipe.size)
    pools, ae, ae_sha = latent_pools(recipe, opts)
    cfg = UNetConfig.from_dict(
        {
            **recipe.model,
            "image_channels": ae.cfg.latent_channels,
            "vocab_size": len(words.vocabulary),
        }
    )
    model = R.init_seeded(recipe.seed, lambda: UNet(cfg))
    if opts["init"]:
        model.load_state_dict(init_unet(recipe, opts["init"]))
    weights = [
        focus_weights(recipe.source, p["captions"], opts["focus"], words.word_ids, words.vocabulary)
        for p in pools
    ]
    ema = R.EMA(model, recipe.ema_decay)
    opt = torch.optim.AdamW(model.parameters(), recipe.lr, weight_decay=0.0)
    g = torch.Generator().manual_seed(recipe.seed)

    def step(i: int) -> dict[str, float]:
        R.set_lr(opt, R.lr_at(recipe, i))
        k = i % len(pools)
        x_t, t, ids, v = flow_batch(pools[k], recipe, words.word_ids, g, weights[k])
        loss = F.mse_loss(model(x_t, t, model.encode_prompt(ids)), v)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if recipe.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.grad_clip)
        opt.step()
        ema.update(model)
        return {"loss": loss.item()}

    objects = {"model": model, "ema": ema.model, "opt": opt, "rng": g}
    R.run_steps(recipe, objects, step, resume=resume, progress=progress)
    return export(recipe, opts, words, ema.model, ae, ae_sha)


def export(recipe: Any, opts: dict, words: Any, unet: UNet, ae: Any, ae_sha: str) -> Path:
    """Write UNet + autoencoder as one "ldm" checkpoint with what the checker needs in meta."""
    sizes = [int(s) for s in opts["sizes"]]
    meta = {
        "vocabulary": words.vocabulary,
        "aliases": words.aliases,
        "fillers": words.ignored,
        "size": sizes[0],
        "native_sizes": sizes,
        "size_multiple": ae.cfg.factor * unet.config.size_multiple,
        "latent_channels": ae.cfg.latent_channels,
        "latent_scale": ae.cfg.factor,  # spatial: image side / latent side
        "prediction": "flow",
        "shift": float(opts["shift"]),
        "default_steps": int(opts["default_steps"]),
        "live_steps": int(opts["live_steps"]),
        "default_guidance": float(opts["default_guidance"]),
        "default_sampler": opts["default_sampler"],
        "defaults": {
            "steps": int(opts["default_steps"]),
            "guidance": float(opts["default_guidance"]),
            "sampler": opts["default_sampler"],
            "size": sizes[0],
        },
        "autoencoder": {"sha256": ae_sha, **ae_meta(opts)},
        "dataset": recipe.dataset,
        "recipe": {"name": recipe.name, "seed": recipe.seed, "steps": recipe.steps},
    }
    tensors = {**R.prefixed("unet", unet), **R.prefixed("autoencoder", ae)}
    config = {"unet": unet.config.to_dict(), "autoencoder": ae.cfg.to_dict()}
    save_checkpoint(recipe.output_path, tensors, "diffusion", "ldm", config, meta)
    return recipe.output_path


def init_unet(recipe: Any, path: str) -> dict[str, torch.Tensor]:
    """The UNet weights of an "ldm" checkpoint, for a stage that refines an earlier run's model."""
    from gencode.models.checkpoint import load_tensors
    from gencode.models.latent_diffusion import split_tensors

    if not Path(path).is_file():
        raise ValueError(f"{recipe.source}: init checkpoint {path} not found; run its recipe first")
    return split_tensors(load_tensors(path), "unet")


def ae_meta(opts: dict[str, Any]) -> dict[str, Any]:
    """What the autoencoder's own checkpoint says of itself (PSNR, latent scale); for the one
    inside an "ldm" checkpoint, what that checkpoint says of it."""
    from gencode.models.checkpoint import read_info

    info = read_info(opts["autoencoder"])
    if info.arch == "ldm":
        return {k: v for k, v in info.meta.get("autoencoder", {}).items() if k != "sha256"}
    return {k: v for k, v in info.meta.items() if k != "recipe"}
