"""Atomic file writes: a temp file in the target's folder, fsync, then os.replace.

A crash, a kill or Ctrl-C at any point leaves either the old file or the new one in place,
never a half-written one. A temp file orphaned by kill -9 carries `TEMP_MARK` and its
writer's process id in its name, so the next render, batch or verify of the folder removes it
(`sweep_temp_files`) while never touching a temp file a running writer still owns.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TEMP_MARK = ".gencode-tmp"
_WRITER = re.compile(r"\.p(\d+)-[0-9a-f]+" + re.escape(TEMP_MARK))  # `.p<pid>-<random>.gencode-tmp`


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A fresh temp path beside `path`: on a clean exit it replaces `path`, else it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The real suffix stays last so that writers choosing a format by extension (ffmpeg) still can.
    tmp = path.with_name(f".{path.stem}.p{os.getpid()}-{secrets.token_hex(4)}{TEMP_MARK}{path.suffix}")  # fmt: skip
    # O_EXCL: never reuse another writer's temp file; mode 0o666 lets the umask decide, as for
    # any ordinary file (mkstemp's 0o600 would leave outputs private after the rename).
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    """Write `data` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def sweep_temp_files(folder: Path) -> list[Path]:
    """Remove temp files left under `folder` by killed writers; returns what was removed.
    A temp file whose writer is still running is left alone (it is about to be renamed)."""
    gone = []
    for p in Path(folder).rglob(f".*{TEMP_MARK}*"):
        if p.is_file() and not _writer_alive(p.name):
            p.unlink(missing_ok=True)
            gone.append(p)
    return gone


def _writer_alive(name: str) -> bool:
    """Whether the process that made this temp file still runs (unknown for older names)."""
    m = _WRITER.search(name)
    if m is None:
        return False  # written before temp names carried a process id: orphaned long ago
    return process_alive(int(m.group(1)))


def process_alive(pid: int) -> bool:
    """Whether a process of this id runs on this machine (this one, always)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # alive, another user's; or unknowable: assume it runs
    return True


def _fsync_file(path: Path) -> None:
    """Flush the file's data to disk so the rename never exposes an empty file after a crash."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    """Flush the folder entry so the rename itself survives a crash (POSIX only)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on folders; the data itself is already synced
    finally:
        os.close(fd)
