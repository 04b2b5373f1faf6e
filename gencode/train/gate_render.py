"""Samples for the quality gate, rendered the way users render: a generated .gen script whose
outputs are `diffuse "PROMPT" seed K`, run through `gencode.render` (check, compile, the `diffuse`
op, the model's runtime), so the gate scores exactly what a script gets.

render_prompts(model, prompts, seed, size, steps) → uint8 (N, H, W, 3), image i from seed + i.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
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

    model: a model name, or a checkpoint path (copied into a private folder on GENCODE_MODELS
    under a name no built-in has, as a user would name it, since a script may only read files
    beside it and built-in names win).
    """
    if not isinstance(model, Path):
        return _render(str(model), prompts, seed, size, steps, guidance, bf16)
    from gencode.models.catalog import MODELS_ENV

    saved = os.environ.get(MODELS_ENV)
    with tempfile.TemporaryDirectory(prefix="gencode-gate-") as folder:
        shutil.copyfile(model, Path(folder) / "candidate.safetensors")
        os.environ[MODELS_ENV] = folder
        try:
            return _render("candidate", prompts, seed, size, steps, guidance, bf16)
        finally:
            os.environ.pop(MODELS_ENV) if saved is None else os.environ.update({MODELS_ENV: saved})


def _render(name: str, prompts, seed, size, steps, guidance, bf16) -> np.ndarray:
    from gencode.render import render

    text = script_for(name, prompts, seed, size, steps, guidance)
    result = render(text, write=False, device="cpu", cpu_bf16=bf16)
    return np.stack([result.array(f"o{i}") for i in range(len(prompts))])
