"""Procedural datasets, generated deterministically from a seed (numpy only, no torch).

Each dataset module exposes:
    generate(n: int, seed: int, size: int = NATIVE_SIZE) -> tuple[np.ndarray, list[dict]]
        images uint8 (N, H, W, 3) and one label dict per image
        (scenes: {"subject", "time", "modifiers", "caption"}; faces: attribute name -> value);
    VOCABULARY / ATTRIBUTES: what its labels can say; NATIVE_SIZE: the size it is drawn for.
"""

from __future__ import annotations

import importlib
from types import ModuleType

DATASETS: dict[str, str] = {
    "scenes": "gencode.data.scenes",
    "faces": "gencode.data.faces",
}


def dataset(name: str) -> ModuleType:
    """The module of a named procedural dataset."""
    if name not in DATASETS:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}")
    return importlib.import_module(DATASETS[name])
