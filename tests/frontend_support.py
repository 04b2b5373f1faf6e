"""Shared test support for the torch-free front end: a fixed model catalog with stable hashes."""

from __future__ import annotations

from pathlib import Path

from gencode.check import check_text
from gencode.compile import compile_program
from gencode.models.catalog import BUILTINS, WEIGHTS_DIR, ModelRef, StaticCatalog
from gencode.models.checkpoint import read_info


def _shipped(name: str, fake_sha: str) -> ModelRef:
    """A built-in model as the checker sees it: the shipped checkpoint's own family and meta (so
    tests cannot drift from the models), under a fixed fake hash (so golden keys stay stable)."""
    info = read_info(WEIGHTS_DIR / BUILTINS[name])
    return ModelRef(name, fake_sha + "0" * (64 - len(fake_sha)), info.family, meta=info.meta)


SCENES = _shipped("scenes", "5ce7e5")
FACES = _shipped("faces", "fac35")
FACES_VAE = _shipped("faces_vae", "fac3e")
ATTRIBUTES = list(FACES.attributes)


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
