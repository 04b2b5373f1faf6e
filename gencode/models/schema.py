"""One schema for what a model file tells gencode: checkpoint metadata and diffusers configs.

Input: JSON already parsed (gencode's checkpoint header, or a diffusers folder's configs).
Output: the same dicts, or a `CheckpointError` naming the file, the key and the value at fault.
Only the keys gencode reads are checked, each against the range the language itself allows
(settings.py), so a file can't smuggle in a step count, a size rule or a family the checker
would trip on later. Torch-free.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from gencode.models.checkpoint import CheckpointError
from gencode.models.families import FAMILIES
from gencode.samplers.names import SAMPLER_NAMES, SCHEDULE_NAMES, SPACINGS, sampler_problem
from gencode.settings import MAX_SIDE, SETTINGS

Check = Callable[[Any], str | None]  # a value → why it is wrong, or None


def _int(lo: int, hi: int) -> Check:
    def check(v: Any) -> str | None:
        ok = isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi
        return None if ok else f"a whole number from {lo} to {hi}"

    return check


def _number(lo: float, hi: float) -> Check:
    def check(v: Any) -> str | None:
        ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        return None if ok and lo <= v <= hi else f"a finite number from {lo:g} to {hi:g}"

    return check


def _choice(*names: str) -> Check:
    return lambda v: None if v in names else f"one of {', '.join(names)}"


def _either(*checks: Check) -> Check:
    def check(v: Any) -> str | None:
        whys = [c(v) for c in checks]
        return None if None in whys else " or ".join(str(w) for w in whys)

    return check


def _list(item: Check, min_len: int = 0, max_len: int = 10_000) -> Check:
    def check(v: Any) -> str | None:
        if not isinstance(v, list) or not min_len <= len(v) <= max_len:
            return f"a list of {min_len} to {max_len} items"
        bad = next((why for x in v if (why := item(x))), None)
        return f"a list whose items are each {bad}" if bad else None

    return check


def _dict(value: Check) -> Check:
    def check(v: Any) -> str | None:
        if not isinstance(v, dict):
            return "an object"
        bad = next((why for x in v.values() if (why := value(x))), None)
        return f"an object whose values are each {bad}" if bad else None

    return check


def _word(v: Any) -> str | None:
    return None if isinstance(v, str) and 0 < len(v) <= 200 else "a non-empty string"


def _arg_range(name: str) -> tuple[float, float]:
    arg = SETTINGS[name]
    assert arg.lo is not None and arg.hi is not None
    return arg.lo, arg.hi


_SIDE = _int(8, MAX_SIDE)
_SIZE = _either(_SIDE, _list(_SIDE, 2, 2))
_STEPS = _int(*(int(x) for x in _arg_range("steps")))
_GUIDANCE = _number(*_arg_range("guidance"))


def _sampler(v: Any) -> str | None:
    if v in SAMPLER_NAMES or (isinstance(v, str) and not sampler_problem(v)):
        return None
    return f'a sampler ({", ".join(SAMPLER_NAMES)}, or "diffusers:NAME")'


_SAMPLER = _sampler
DEFAULTS: dict[str, Check] = {
    "steps": _STEPS,
    "guidance": _GUIDANCE,
    "sampler": _SAMPLER,
    "size": _SIZE,
}
META: dict[str, Check] = {
    "vocabulary": _list(_word),
    "attributes": _list(_word),
    "fillers": _list(_word),
    "ignored_words": _list(_word),
    "aliases": _dict(_word),
    "size_multiple": _int(1, 512),
    "latent_scale": _int(1, 64),
    "latent_channels": _int(1, 64),
    "z_dim": _int(1, 65_536),
    "size": _SIZE,
    "timesteps": _int(2, 100_000),
    "schedule": _choice(*SCHEDULE_NAMES),
    "prediction": _choice("eps", "v", "flow"),
    "native_sizes": _list(_SIDE, 1, 8),
    "shift": _number(0.05, 20.0),
    "live_steps": _STEPS,
    "defaults": _dict(lambda v: None),  # its keys are checked one by one below
    "directions": _dict(lambda v: None),
    **{f"default_{k}": c for k, c in DEFAULTS.items()},
}
# The diffusers configs gencode reads, by component (a folder's `spacing` may be "linspace").
DIFFUSERS: dict[str, dict[str, Check]] = {
    "vae": {
        "block_out_channels": _list(_int(1, 8192), 1, 8),
        "latent_channels": _int(1, 64),
    },
    "unet": {"sample_size": _either(_int(1, 1024), _list(_int(1, 1024), 2, 2))},
    "scheduler": {"prediction_type": _word, "timestep_spacing": _word},
}


def check_doc(doc: Any, where: str) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
    """A checkpoint's gencode header → (family, arch, config, meta), each checked."""
    if not isinstance(doc, dict):
        raise CheckpointError(f"{where}: gencode metadata is not a JSON object")
    fields = {"family": _choice(*FAMILIES), "arch": _word, "config": _dict(lambda v: None)}
    for key, check in fields.items():
        _field(where, "", key, doc.get(key), check)
    meta = doc.get("meta", {})
    check_fields(meta, META, where, "meta.")
    defaults = meta.get("defaults", {})
    check_fields(defaults, DEFAULTS, where, "meta.defaults.")
    if meta.get("spacing") is not None:
        _field(where, "meta.", "spacing", meta["spacing"], _choice(*SPACINGS))
    return doc["family"], doc["arch"], doc["config"], meta


def check_fields(doc: Any, schema: dict[str, Check], where: str, prefix: str = "") -> None:
    """Each key of `schema` that `doc` has must pass its check."""
    if not isinstance(doc, dict):
        raise CheckpointError(f"{where}: {prefix.rstrip('.') or 'it'} must be a JSON object")
    for key, check in schema.items():
        if key in doc:
            _field(where, prefix, key, doc[key], check)


def _field(where: str, prefix: str, key: str, value: Any, check: Check) -> None:
    why = check(value)
    if why:
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        raise CheckpointError(f"{where}: {prefix}{key} must be {why}, got {shown}")
