"""Checkpoints: safetensors files that carry their own config, identified by the file's sha256.

The header (config and metadata) is read without torch, so the front end can learn what a model
knows (its vocabulary, attributes, size rules) while checking a script.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gencode.files import FileProblem, loads_json, open_regular, sha256_file
from gencode.limits import MAX_CHECKPOINT_BYTES, MAX_JSON_BYTES

METADATA_KEY = "gencode"
PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin", ".pkl")
_HASH_CACHE: dict[tuple[str, int, int], str] = {}


class CheckpointError(Exception):
    """A checkpoint that cannot be used: missing, corrupt, pickled, or of an unknown family."""


@dataclass(frozen=True)
class CheckpointInfo:
    """What a checkpoint's header says about it (torch-free)."""

    path: Path
    family: str  # "diffusion" | "gan" | "vae" | "classifier"
    arch: str  # e.g. "unet", "mlp-gan", "dcgan", "vae"
    config: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)  # vocabulary, attributes, size rules, ...


def file_sha256(path: str | os.PathLike[str]) -> str:
    """sha256 of a file's bytes, remembered per (path, size, mtime) so big files hash once."""
    p = Path(path)
    try:
        st = p.stat()
        key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
        if key not in _HASH_CACHE:
            _HASH_CACHE[key] = sha256_file(p, MAX_CHECKPOINT_BYTES, "model file")
    except (FileProblem, OSError) as e:
        raise CheckpointError(str(e)) from None
    return _HASH_CACHE[key]


def read_header(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The raw safetensors JSON header of a file, validated enough to trust its length."""
    p = Path(path)
    if not p.exists():
        raise CheckpointError(f"{p}: no such checkpoint file")
    if p.suffix.lower() in PICKLE_SUFFIXES:
        raise CheckpointError(
            f"{p}: pickle checkpoints can run arbitrary code and are refused; "
            "if you trust its source, convert it to .safetensors once, in Python: "
            f"safetensors.torch.save_file(torch.load('{p.name}', weights_only=True), "
            f"'{p.stem}.safetensors')"
        )
    try:
        with open_regular(p, MAX_CHECKPOINT_BYTES, "checkpoint") as f:
            size = os.fstat(f.fileno()).st_size
            raw = f.read(8)
            if len(raw) < 8:
                raise CheckpointError(f"{p}: not a safetensors file (too short)")
            (n,) = struct.unpack("<Q", raw)
            if n <= 0 or n > min(size - 8, MAX_JSON_BYTES):
                raise CheckpointError(f"{p}: not a safetensors file (bad header length {n})")
            header = loads_json(f.read(n), f"{p}: safetensors header")
    except FileProblem as e:
        raise CheckpointError(str(e)) from None
    except ValueError as e:  # bad UTF-8 or JSON, too deep, NaN
        raise CheckpointError(f"{p}: corrupt safetensors header ({e})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{p}: corrupt safetensors header")
    return header


def read_info(path: str | os.PathLike[str]) -> CheckpointInfo:
    """The family, config and metadata a gencode checkpoint carries (no tensors are loaded)."""
    from gencode.models.schema import check_doc

    header = read_header(path)
    metadata = header.get("__metadata__", {})
    raw = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
    if not isinstance(raw, str):
        raise CheckpointError(f"{path}: a safetensors file without gencode metadata (no config)")
    try:
        doc = loads_json(raw, "gencode metadata")
    except ValueError as e:
        raise CheckpointError(f"{path}: corrupt gencode metadata ({e})") from None
    family, arch, config, meta = check_doc(doc, str(path))
    return CheckpointInfo(Path(path), family, arch, config, meta)


def save_checkpoint(
    path: str | os.PathLike[str],
    tensors: dict[str, Any],
    family: str,
    arch: str,
    config: dict[str, Any],
    meta: dict[str, Any] | None = None,
) -> str:
    """Write tensors plus their config atomically (temp file, fsync, rename); return the sha256."""
    from safetensors.torch import save_file

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    doc = {"family": family, "arch": arch, "config": config, "meta": meta or {}}
    tmp = p.with_name(f".{p.name}.tmp-{os.getpid()}")
    try:
        tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
        save_file(tensors, str(tmp), metadata={METADATA_KEY: json.dumps(doc, sort_keys=True)})
        umask = os.umask(0o022)  # safetensors writes 0600; a shipped file must be world-readable
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, p)
    finally:
        if tmp.exists():
            tmp.unlink()
    return file_sha256(p)


def load_tensors(path: str | os.PathLike[str], allow_pickle: bool = False) -> dict[str, Any]:
    """The tensors of a checkpoint (on the CPU); pickle files only with allow_pickle=True."""
    p = Path(path)
    if p.suffix.lower() in PICKLE_SUFFIXES:
        if not allow_pickle:
            read_header(p)  # raises the refusal
        import torch

        return torch.load(p, map_location="cpu", weights_only=True)
    read_header(p)  # clear errors for missing / truncated files
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(p), device="cpu")
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{p}: corrupt checkpoint ({e})") from None
