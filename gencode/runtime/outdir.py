"""Writing under an output folder without following a symlink swapped in mid-render.

Input: the output folder and, per file, a path relative to it. Output: a binary file object
that atomically becomes that file (temp file, fsync, rename) when its block exits cleanly.

`safe_path` checks a target before the render, but a render runs for seconds to hours, and
checking a path then opening it by name later can be raced: swap `out/frames` for a symlink
after the check and every later frame lands wherever it points. `OutDir` opens the output folder
once and reaches each file through folder descriptors, one component at a time with O_NOFOLLOW
(`openat`), so a component that became a symlink is refused rather than followed. Where the OS
has no descriptor-relative calls (Windows), the path is checked again at every write.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from gencode.runtime.atomic import TEMP_MARK, atomic_path
from gencode.runtime.ops_image import OpError


class OutputError(OpError):
    """An output could not be written (bad path, bad value, encoder failure)."""


# path → a binary file that becomes `path` atomically when its block exits cleanly
Opener = Callable[[Path], AbstractContextManager[BinaryIO]]

# os.replace takes the same dir_fd arguments as os.rename (supports_dir_fd lists only rename).
_DIR_FD = {os.open, os.mkdir, os.rename, os.unlink} <= os.supports_dir_fd
_FD_CALLS = _DIR_FD and hasattr(os, "O_NOFOLLOW") and hasattr(os, "O_DIRECTORY")


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """The plain opener: a temp file beside `path`, renamed over it on success."""
    with atomic_path(Path(path)) as tmp, open(tmp, "wb") as f:
        yield f


def safe_path(out_dir: Path, rel: str) -> Path:
    """`out_dir / rel`, refusing absolute paths, `..` and symlinks that lead outside `out_dir`."""
    p = PurePosixPath(rel.replace("\\", "/"))
    root = Path(out_dir).resolve()
    if not rel or p.is_absolute() or ".." in p.parts or ":" in p.parts[0]:
        raise OutputError(f"'{rel}': output paths are relative and stay inside the output folder")
    full = (root / p).resolve()  # follows symlinks: a linked folder can't smuggle a write out
    if full == root or not full.is_relative_to(root):
        raise OutputError(f"'{rel}': leads outside the output folder {out_dir}")
    return Path(out_dir) / p


class OutDir:
    """An output folder held open for a render; `open(path)` is an `Opener` for files under it."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY) if _FD_CALLS else -1

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> OutDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def open(self, path: Path) -> Iterator[BinaryIO]:
        rel = PurePosixPath(Path(path).relative_to(self.root).as_posix())
        if self.fd < 0:
            with atomic_file(safe_path(self.root, str(rel))) as f:  # checked again, each write
                yield f
            return
        parent = self._folder(rel)
        try:
            yield from _write_in(parent, rel.name)
        finally:
            os.close(parent)

    def _folder(self, rel: PurePosixPath) -> int:
        """A descriptor of rel's folder, made as needed, never through a symlink."""
        fd = os.dup(self.fd)
        for part in rel.parts[:-1]:
            try:
                try:
                    os.mkdir(part, 0o777, dir_fd=fd)
                except FileExistsError:
                    pass
                child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except OSError as e:
                why = "a symlink" if e.errno in (errno.ELOOP, errno.ENOTDIR) else e.strerror
                raise OutputError(
                    f"'{rel}': '{part}' is {why}, not a folder; outputs stay inside {self.root}"
                ) from None
            finally:
                os.close(fd)
            fd = child
        return fd


def _sync(fd: int) -> None:
    """Flush a file's data to disk so the rename never exposes an empty file after a crash."""
    os.fsync(fd)


def _write_in(folder: int, name: str) -> Iterator[BinaryIO]:
    """A temp file in the folder `folder`, renamed to `name` once written and synced."""
    stem, dot, suffix = name.rpartition(".")
    tmp = f".{stem or suffix}.{secrets.token_hex(4)}{TEMP_MARK}{dot}{suffix if stem else ''}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666, dir_fd=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            _sync(f.fileno())
        os.replace(tmp, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        try:
            os.unlink(tmp, dir_fd=folder)
        except OSError:
            pass
        raise
    try:
        os.fsync(folder)
    except OSError:
        pass  # some filesystems refuse fsync on folders; the file itself is synced
