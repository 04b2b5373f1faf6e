"""Diffusers folders (Stable Diffusion as written by `save_pretrained`) → a ModelRef, torch-free.

Input: a folder holding `model_index.json` and its components (unet, vae, text_encoder,
tokenizer, scheduler). Output: a ModelRef of family "diffusion" whose meta tells the checker the
latent shape, size rules and defaults, and whose sha256 is a content hash of every file that
shapes its pictures (weights, configs, tokenizer). Weight files are hashed once and remembered
on disk by (path, size, mtime), so a 4 GB model is not read again on every render.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

from gencode.files import FileProblem, loads_json, path_text_problem, read_text
from gencode.limits import MAX_JSON_BYTES
from gencode.models.catalog import ModelRef
from gencode.models.checkpoint import CheckpointError, file_sha256
from gencode.models.schema import DIFFUSERS, check_fields

INDEX = "model_index.json"
# component → the stem of its weight files (diffusers models vs transformers models)
WEIGHTS = {
    "unet": "diffusion_pytorch_model",
    "vae": "diffusion_pytorch_model",
    "text_encoder": "model",
}
# component → its config file (the scheduler's decides timesteps and the prediction type)
CONFIG_FILES = {
    "unet": "config.json",
    "vae": "config.json",
    "text_encoder": "config.json",
    "scheduler": "scheduler_config.json",
}
TOKENIZER_FILES = ("tokenizer.json", "vocab.json")  # either one makes a CLIP tokenizer
SD_DEFAULTS = {"steps": 25, "guidance": 7.5, "sampler": "dpmpp_2m"}
# Turbo models are distilled for 1-4 steps without classifier-free guidance.
TURBO_DEFAULTS = {"steps": 1, "guidance": 0.0, "sampler": "euler"}
PREDICTIONS = {"epsilon": "eps", "v_prediction": "v"}


def folder_ref(path: str | os.PathLike[str]) -> ModelRef:
    """The ModelRef of a Stable Diffusion folder; CheckpointError says what is missing."""
    folder = Path(path)
    index = _index(folder)
    configs = {c: _config(folder, c, name) for c, name in CONFIG_FILES.items()}
    for component, schema in DIFFUSERS.items():
        check_fields(configs[component], schema, f"{folder.name}/{component}")
    weights = {c: weight_files(folder, c) for c in WEIGHTS}
    meta = _meta(folder, index, configs)
    files = [folder / INDEX] + [folder / c / n for c, n in CONFIG_FILES.items()]
    files += [f for fs in weights.values() for f in fs] + tokenizer_files(folder)
    files = [inside(folder, f) for f in files]  # before any is hashed (or remembered)
    return ModelRef(folder.name, folder_sha256(folder, files), "diffusion", str(folder), meta)


def inside(folder: Path, file: Path) -> Path:
    """`file` with symlinks resolved, if it is a regular file inside `folder`; a shard path or
    a linked component that leads out of the model's folder is refused, never opened."""
    try:
        real, root = file.resolve(), folder.resolve()
        mode = os.stat(real).st_mode
    except (OSError, RuntimeError, ValueError) as e:
        raise CheckpointError(f"{folder.name}: can't read {file.name} ({e})") from None
    if not real.is_relative_to(root):
        raise CheckpointError(
            f"{folder.name}: {_rel(folder, file)} leads outside the model folder; refused"
        )
    if not stat.S_ISREG(mode):
        raise CheckpointError(f"{folder.name}: {_rel(folder, file)} is not a regular file")
    return root / real.relative_to(root)


def _rel(folder: Path, file: Path) -> str:
    return file.relative_to(folder).as_posix() if file.is_relative_to(folder) else str(file)


def _index(folder: Path) -> dict[str, Any]:
    """model_index.json, refusing pipelines that this loader does not drive."""
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: no such model folder")
    if not (folder / INDEX).is_file():
        raise CheckpointError(
            f"{folder}: not a diffusers model folder (no {INDEX}); save one with "
            "pipeline.save_pretrained(folder)"
        )
    index = _read_json(inside(folder, folder / INDEX))
    if "text_encoder_2" in index or "transformer" in index:
        kind = index.get("_class_name", "this pipeline")
        raise CheckpointError(
            f"{folder.name}: {kind} is not supported yet; gencode drives Stable Diffusion 1.x/2.x "
            "and Turbo folders (a UNet, a VAE and one CLIP text encoder)"
        )
    missing = [c for c in (*WEIGHTS, "tokenizer", "scheduler") if c not in index]
    if missing:
        raise CheckpointError(f"{folder.name}: {INDEX} lists no {', '.join(missing)}")
    return index


def _config(folder: Path, component: str, name: str) -> dict[str, Any]:
    path = folder / component / name
    if not path.is_file():
        raise CheckpointError(
            f"{folder.name}: the {component} component is missing ({component}/{name} not found)"
        )
    return _read_json(inside(folder, path))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        doc = loads_json(read_text(path, MAX_JSON_BYTES, "config"), str(path))
    except (FileProblem, ValueError) as e:
        raise CheckpointError(f"{path}: unreadable JSON ({e})") from None
    if not isinstance(doc, dict):
        raise CheckpointError(f"{path}: expected a JSON object")
    return doc


def weight_variant(folder: Path, component: str) -> str | None:
    """None for plain weight files, "fp16" for a folder that only has the fp16 variant."""
    for variant in (None, "fp16"):
        name = WEIGHTS[component] + (f".{variant}" if variant else "")
        base = folder / component
        if (base / f"{name}.safetensors").is_file() or (
            base / f"{name}.safetensors.index.json"
        ).is_file():
            return variant
    return None


def weight_files(folder: Path, component: str) -> list[Path]:
    """The safetensors files a component loads from: one file, or an index and its shards."""
    base, variant = folder / component, weight_variant(folder, component)
    stem = WEIGHTS[component] + (f".{variant}" if variant else "")
    single, index = base / f"{stem}.safetensors", base / f"{stem}.safetensors.index.json"
    if single.is_file():
        return [single]
    if index.is_file():
        shards = _shards(folder, inside(folder, index))
        missing = [s for s in shards if not (base / s).is_file()]
        if missing:
            raise CheckpointError(
                f"{folder.name}: {component} shards missing: {', '.join(missing)}"
            )
        return [index, *(base / s for s in shards)]
    if base.is_dir() and any(base.glob("*.bin")):
        raise CheckpointError(
            f"{folder.name}: the {component} weights are a pickle (.bin), which can run code and "
            f"is refused; convert them to {single.name}"
        )
    raise CheckpointError(
        f"{folder.name}: the {component} component has no weights ({component}/{single.name} not found)"
    )


def _shards(folder: Path, index: Path) -> list[str]:
    """The shard file names an index's `weight_map` (tensor name → file name) points to."""
    weight_map = _read_json(index).get("weight_map", {})
    if not isinstance(weight_map, dict) or not all(
        isinstance(v, str) and v for v in weight_map.values()
    ):
        raise CheckpointError(
            f"{folder.name}: {index.name}: weight_map must map tensor names to file names"
        )
    for shard in set(weight_map.values()):
        problem = path_text_problem(shard)
        if problem or Path(shard).is_absolute() or ".." in Path(shard).parts:
            raise CheckpointError(
                f"{folder.name}: {index.name} names the shard {shard!r}, which is not a file "
                "beside it; refused"
            )
    return sorted(set(weight_map.values()))


def tokenizer_files(folder: Path) -> list[Path]:
    """Every file of the tokenizer folder (its vocabulary decides the prompt's tokens)."""
    base = folder / "tokenizer"
    if not any((base / n).is_file() for n in TOKENIZER_FILES):
        raise CheckpointError(
            f"{folder.name}: the tokenizer component is missing (tokenizer/tokenizer.json or "
            "tokenizer/vocab.json not found)"
        )
    return sorted(p for p in base.iterdir() if p.is_file())


def _meta(folder: Path, index: dict[str, Any], configs: dict[str, dict]) -> dict[str, Any]:
    """What the checker needs: latent shape, size rules, prediction type and defaults."""
    vae, unet, sched = configs["vae"], configs["unet"], configs["scheduler"]
    scale = 2 ** (len(vae.get("block_out_channels", [0] * 4)) - 1)
    sample = unet.get("sample_size", 64)
    size = int(sample if isinstance(sample, int) else sample[0]) * scale
    prediction = sched.get("prediction_type", "epsilon")
    if prediction not in PREDICTIONS:
        raise CheckpointError(
            f"{folder.name}: prediction type '{prediction}' is not supported (epsilon, v_prediction)"
        )
    turbo = "turbo" in folder.name.lower() or "turbo" in str(index.get("_name_or_path", "")).lower()
    return {
        "format": "diffusers",
        "latent_channels": int(vae.get("latent_channels", 4)),
        "latent_scale": scale,
        "size_multiple": scale,  # the VAE's factor; the UNet copes with odd latent sizes
        "size": size,
        "prediction": PREDICTIONS[prediction],
        "spacing": sched.get("timestep_spacing", "leading"),
        "turbo": turbo,
        "defaults": {**(TURBO_DEFAULTS if turbo else SD_DEFAULTS), "size": size},
    }


def folder_sha256(folder: Path, files: list[Path]) -> str:
    """A content hash of a folder model: its files' names and sha256s, in a stable order."""
    digests = remembered_sha256s(sorted(set(files)))
    h = hashlib.sha256()
    for f, digest in digests.items():
        h.update(f"{f.relative_to(folder).as_posix()}\t{digest}\n".encode())
    return h.hexdigest()


def hash_cache_path() -> Path:
    """Where file hashes are remembered: $GENCODE_HOME, else ~/.cache/gencode."""
    if home := os.environ.get("GENCODE_HOME"):
        return Path(home) / "file-hashes.json"
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "gencode" / "file-hashes.json"


def remembered_sha256s(files: list[Path]) -> dict[Path, str]:
    """Files' sha256s, from the on-disk cache where path, size and mtime still match."""
    cache_file = hash_cache_path()
    cache = _load_cache(cache_file)
    out, fresh = {}, {}
    for f in files:
        st = f.stat()
        key, stamp = str(f.resolve()), [st.st_size, st.st_mtime_ns]
        entry = cache.get(key)
        if isinstance(entry, dict) and entry.get("stamp") == stamp and "sha256" in entry:
            out[f] = str(entry["sha256"])
        else:
            out[f] = file_sha256(f)
            fresh[key] = {"stamp": stamp, "sha256": out[f]}
    if fresh:
        # Re-read first: another render may have remembered other files meanwhile.
        _save_cache(cache_file, {**_load_cache(cache_file), **fresh})
    return out


def _load_cache(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}  # missing or damaged: hashes are recomputed, never trusted blindly
    return doc if isinstance(doc, dict) else {}


def _save_cache(path: Path, cache: dict[str, Any]) -> None:
    """Write atomically (temp file, rename); an unwritable cache only costs a re-hash later."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        tmp.write_text(json.dumps(cache, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass
