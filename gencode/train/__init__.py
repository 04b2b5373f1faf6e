"""Training: `gencode train RECIPE` dispatches on the recipe's model family.

Each family module exposes `train(recipe, *, resume: bool, progress: bool) -> Path` (the checkpoint).
"""

from __future__ import annotations

FAMILIES: dict[str, str] = {
    "diffusion": "gencode.train.diffusion",
    "gan": "gencode.train.gan",
    "vae": "gencode.train.vae",
    "classifier": "gencode.train.classifier",
    "autoencoder": "gencode.train.autoencoder",
    "latent_diffusion": "gencode.train.latent_flow",
}
