"""A1111 infotext: a gencode record → the `parameters` text AUTOMATIC1111-style tools display.

    dunes at dusk
    Negative prompt: blurry
    Steps: 30, Sampler: DDIM, CFG scale: 3.5, Seed: 7, Size: 32x32, Model hash: 4f0c..., Model: scenes, Version: gencode 0.1.0

Only a courtesy for other tools: the `gencode` record is the authority, and `inspect` reads it.
"""

from __future__ import annotations

import json
from typing import Any

from gencode.provenance.record import is_record
from gencode.samplers.names import label


def _quote(value: Any) -> str:
    """A1111 quotes a value holding a comma, colon or newline as a JSON string."""
    text = format(value, "g") if isinstance(value, float) else str(value)
    return json.dumps(text) if any(c in text for c in ",:\n") else text


def infotext(record: dict) -> str | None:
    """The `parameters` text for a gencode record; None for anything else."""
    if not is_record(record) or "script" not in record:
        return None  # another tool's dict, or a record of no render (a contact sheet)
    model = record.get("model") or {}
    size = record.get("size") or [0, 0]
    guidance = record.get("guidance")
    fields = {
        "Steps": record.get("steps"),
        "Sampler": label(str(record["sampler"])) if record.get("sampler") else None,
        "CFG scale": guidance if isinstance(guidance, int | float) else None,
        "Seed": record.get("seed"),
        "Size": f"{size[0]}x{size[1]}",
        "Model hash": str(model.get("sha256", ""))[:10] or None,
        "Model": model.get("name"),
        "Denoising strength": record.get("strength"),
        "Version": f"gencode {record.get('environment', {}).get('gencode', '?')}",
    }
    lines = [record.get("prompt") or ""]  # newlines kept, as A1111's own writer keeps them
    if record.get("negative"):
        lines.append(f"Negative prompt: {record['negative']}")
    lines.append(", ".join(f"{k}: {_quote(v)}" for k, v in fields.items() if v is not None))
    return "\n".join(lines)
