"""Shared test support for the torch-free front end: a fixed model catalog with stable hashes."""

from __future__ import annotations

from pathlib import Path

from gencode.check import check_text
from gencode.compile import compile_program
from gencode.models.catalog import ModelRef, StaticCatalog

SCENES = ModelRef(
    "scenes",
    "5ce7e5" + "0" * 58,
    "diffusion",
    meta={
        "vocabulary": [
            "dunes",
            "mountains",
            "ocean",
            "forest",
            "clouds",
            "snowfield",
            "city",
            "stars",
            "dawn",
            "day",
            "dusk",
            "night",
        ],
        "size_multiple": 4,
        "defaults": {"size": 32, "steps": 20, "guidance": 3.0, "sampler": "ddim"},
    },
)
ATTRIBUTES = [
    "eye_size",
    "glasses",
    "hair_black",
    "hair_blonde",
    "hair_brown",
    "hair_red",
    "skin",
    "smile",
]
FACES_META = {"attributes": ATTRIBUTES, "size_multiple": 32, "defaults": {"size": 32}}
FACES = ModelRef("faces", "fac35" + "0" * 59, "gan", meta={**FACES_META, "z_dim": 64})
FACES_VAE = ModelRef("faces_vae", "fac3e" + "0" * 59, "vae", meta={**FACES_META, "z_dim": 32})


def catalog() -> StaticCatalog:
    return StaticCatalog({"scenes": SCENES, "faces": FACES, "faces_vae": FACES_VAE})


def check(
    text: str, root: Path | None = None, sets: dict[str, str] | None = None, name: str = "t.gen"
):
    return check_text(text, name, root, sets, catalog())


def graph(
    text: str, root: Path | None = None, sets: dict[str, str] | None = None, name: str = "t.gen"
):
    return compile_program(check(text, root, sets, name))


def keys(text: str, **kw) -> dict[str, str]:
    """Output name → its node's key."""
    return {o.name: o.node.key for o in graph(text, **kw).outputs}


def write_fake_checkpoint(path: Path, family: str = "diffusion", meta: dict | None = None) -> Path:
    """A tiny gencode safetensors checkpoint written with numpy only (no torch)."""
    import json

    import numpy as np
    from safetensors.numpy import save_file

    doc = {
        "family": family,
        "arch": "test",
        "config": {},
        "meta": meta if meta is not None else SCENES.meta,
    }
    save_file(
        {"w": np.zeros(4, dtype=np.float32)}, str(path), metadata={"gencode": json.dumps(doc)}
    )
    return path
