"""The model family table: every kind of checkpoint gencode knows, one `Family` each. Torch-free.

A family says whether `model` may name it (it makes images), which ops render it (for messages),
how its latent is shaped at a size, which runtime loads each of its checkpoint archs, and which
module trains each recipe kind that makes it. Loaders and trainers are named by reference
("module:function" / "module"), so the table imports neither torch nor the trainers; the
contract test (tests/test_op_table.py) resolves every one.

A new model family is one entry here, its model module (with its loader), its training code,
and its docs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Family:
    name: str
    makes_images: bool  # `model NAME` may name it (classifiers and bare autoencoders score/encode)
    renders: str  # the ops that render it, for messages
    latent: str | None  # "spatial": channels × H/scale × W/scale; "vector": one fixed vector
    archs: dict[str, str] = field(default_factory=dict)  # checkpoint arch → runtime loader
    trainers: dict[str, str] = field(default_factory=dict)  # recipe family → training module

    def latent_shape(self, meta: dict[str, Any], width: int, height: int) -> list[int]:
        """The shape of one latent of an image of width × height, by this family's rule."""
        if self.latent == "spatial":
            scale = int(meta.get("latent_scale", 1))
            return [int(meta.get("latent_channels", 3)), height // scale, width // scale]
        if self.latent == "vector":
            return [int(meta.get("z_dim", 128))]
        raise ValueError(f"a {self.name} model has no latent")


RUNTIME = "gencode.runtime.models:"
FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "diffusion",
            True,
            "diffuse",
            "spatial",
            {
                "unet": RUNTIME + "load_unet",  # gencode's pixel-space UNet
                "ldm": RUNTIME + "load_ldm",  # gencode's latent flow model (UNet + autoencoder)
                "diffusers": RUNTIME + "load_sd",  # a Stable Diffusion folder
            },
            {
                "diffusion": "gencode.train.diffusion",
                "latent_diffusion": "gencode.train.latent_flow",
            },
        ),
        Family(
            "gan",
            True,
            "sample",
            "vector",
            {"mlp-gan": RUNTIME + "load_gan", "dcgan": RUNTIME + "load_gan"},
            {"gan": "gencode.train.gan"},
        ),
        Family(
            "vae",
            True,
            "encode/decode/sample",
            "vector",
            {"vae": RUNTIME + "load_vae"},
            {"vae": "gencode.train.vae"},
        ),
        Family(
            "classifier",
            False,
            "the quality gate",
            None,
            {},
            {"classifier": "gencode.train.classifier"},
        ),
        Family(
            "autoencoder",
            False,
            "a latent diffusion model's encode/decode",
            None,
            {},
            {"autoencoder": "gencode.train.autoencoder"},
        ),
    )
}
GENERATORS = tuple(name for name, f in FAMILIES.items() if f.makes_images)
TRAINERS: dict[str, str] = {k: v for f in FAMILIES.values() for k, v in f.trainers.items()}
LOADERS: dict[str, str] = {k: v for f in FAMILIES.values() for k, v in f.archs.items()}
