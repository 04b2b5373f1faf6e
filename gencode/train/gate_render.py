"""Samples for the quality gate, rendered the way users render: a generated .gen script whose
outputs are `diffuse "PROMPT" seed K`, run through `gencode.render` (check, compile, the `diffuse`
op, the model's runtime), so the gate scores exactly what a script gets.

render_prompts(model, prompts, seed, size, steps) → uint8 (N, H, W, 3), image i from seed + i.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def script_for(
    model: str,
    prompts: Sequence[str],
    seed: int,
    size: int,
    steps: int | None = None,
    guidance: float | None = None,
) -> str:
    """The .gen text: settings, then one named output per prompt."""
    lines = [f"model {model}", f"size {size}"]
    lines += [f"steps {steps}"] if steps else []
    lines += [f"guidance {guidance}"] if guidance is not None else []
    lines += [f"diffuse {json.dumps(p)} seed {seed + i} as o{i}" for i, p in enumerate(prompts)]
    return "\n".join(lines) + "\n"


def render_prompts(
    model: str | Path,
    prompts: Sequence[str],
    seed: int,
    size: int,
    steps: int | None = None,
    guidance: float | None = None,
    bf16: bool = False,
) -> np.ndarray:
    """One image per prompt, uint8 (N, H, W, 3), through `gencode.render` (nothing written).

    model: a model name, or a checkpoint path (made nameable through GENCODE_MODELS, as a user
    would, since a script may only read files beside it).
    """
    from gencode.models.catalog import MODELS_ENV
    from gencode.render import render

    name, saved = str(model), os.environ.get(MODELS_ENV)
    if isinstance(model, Path):
        name, os.environ[MODELS_ENV] = model.stem, str(model.resolve().parent)
    try:
        text = script_for(name, prompts, seed, size, steps, guidance)
        result = render(text, write=False, device="cpu", cpu_bf16=bf16)
    finally:
        if isinstance(model, Path):
            os.environ.pop(MODELS_ENV) if saved is None else os.environ.update({MODELS_ENV: saved})
    return np.stack([result.array(f"o{i}") for i in range(len(prompts))])
