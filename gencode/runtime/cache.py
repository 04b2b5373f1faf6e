"""Value caches keyed by node (or frame) key: an LRU in memory, bounded by bytes, and a disk store.

Input: content keys from `gencode.graph` and tensors. Output: the same tensors on a later run.
The disk store is safe against concurrent renders and crashes: every entry is written to a temp
file, fsynced and renamed into place, and carries a digest, so a torn or corrupt entry is ignored
(and recomputed) rather than served.
"""

from __future__ import annotations

import hashlib
import os
import uuid
import warnings
from collections import OrderedDict
from pathlib import Path

import torch

_DIGEST = 32  # sha256 trailer after the safetensors payload


def nbytes(x: torch.Tensor) -> int:
    """The bytes a tensor's elements take."""
    return x.numel() * x.element_size()


class MemoryCache:
    """Least-recently-used tensors, evicted once their total size passes `max_bytes`."""

    def __init__(self, max_bytes: int = 2 << 30):
        self.max_bytes = int(max_bytes)
        self.bytes = 0
        self._items: OrderedDict[str, torch.Tensor] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: str) -> bool:
        return key in self._items

    def get(self, key: str) -> torch.Tensor | None:
        """The value of `key` (marked as recently used), or None."""
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: str, value: torch.Tensor) -> None:
        """Remember a value; one larger than the whole budget is not kept."""
        size = nbytes(value)
        if size > self.max_bytes:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self.bytes -= nbytes(old)
        self._items[key] = value
        self.bytes += size
        while self.bytes > self.max_bytes:
            _, evicted = self._items.popitem(last=False)
            self.bytes -= nbytes(evicted)

    def clear(self) -> None:
        self._items.clear()
        self.bytes = 0


class DiskCache:
    """Tensors as files `DIR/ab/<key>.st`: safetensors bytes followed by their sha256."""

    def __init__(self, root: str | os.PathLike[str], salt: str = ""):
        self.root = Path(root)
        self.salt = salt  # device and dtype: a CUDA half result is not a CPU float one
        self.failed = False  # a write failed (a full disk): the cache is optional, stop writing

    def path(self, key: str) -> Path:
        name = hashlib.sha256(f"{self.salt}:{key}".encode()).hexdigest()
        return self.root / name[:2] / f"{name}.st"

    def has(self, key: str) -> bool:
        """Whether an entry exists (it may still turn out corrupt when read)."""
        return self.path(key).exists()

    def get(self, key: str) -> torch.Tensor | None:
        """The stored value, or None when absent, torn or corrupt (a corrupt file is removed)."""
        p = self.path(key)
        try:
            data = p.read_bytes()
        except OSError:
            return None
        value = _decode(data)
        if value is None:
            _remove_quietly(p)
        return value

    def put(self, key: str, value: torch.Tensor) -> None:
        """Store a value atomically: temp file in the same folder, fsync, rename. A cache
        that can't be written (a full disk, no permission) warns once and is skipped."""
        if self.failed:
            return
        try:
            self._put(key, value)
        except OSError as e:
            self.failed = True
            warnings.warn(
                f"cache folder {self.root}: can't store values ({e.strerror or e}); "
                "rendering on without writing to it",
                stacklevel=2,
            )

    def _put(self, key: str, value: torch.Tensor) -> None:
        from safetensors.torch import save

        p = self.path(key)
        p.parent.mkdir(parents=True, exist_ok=True)
        payload = save({"value": value.detach().cpu().contiguous()})
        tmp = p.with_name(f".{p.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            with open(tmp, "wb") as f:
                f.write(payload + hashlib.sha256(payload).digest())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, p)  # atomic: readers see the old entry or the whole new one
        finally:
            _remove_quietly(tmp)


def _decode(data: bytes) -> torch.Tensor | None:
    """The tensor of an entry whose digest matches, else None."""
    from safetensors.torch import load

    payload, digest = data[:-_DIGEST], data[-_DIGEST:]
    if len(data) <= _DIGEST or hashlib.sha256(payload).digest() != digest:
        return None
    try:
        return load(payload)["value"]
    except Exception:  # noqa: BLE001 — any undecodable entry is simply a miss
        return None


def _remove_quietly(p: Path) -> None:
    try:
        p.unlink()
    except OSError:
        pass
