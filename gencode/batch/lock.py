"""The batch folder's lock: one batch writes a folder at a time, and others are told who does.

Input: a batch folder. Output: an exclusive lock (an OS file lock on `batch.lock` in the folder,
released by the kernel however the holder ends, kill -9 included) whose file says who holds it:
process id, host and start time. A second batch on the folder is refused with that line, and
`verify` reports a folder that a batch is writing instead of sweeping its temp files.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

LOCK_NAME = "batch.lock"

try:
    import fcntl
except ImportError:  # Windows: no advisory locks here; batches are not guarded there
    fcntl = None  # type: ignore[assignment]


class LockedError(Exception):
    """Another batch holds the folder."""


class FolderLock:
    """`with FolderLock(folder):` holds the folder's lock, or raises LockedError naming who does."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / LOCK_NAME
        self.fd: int | None = None

    def __enter__(self) -> FolderLock:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        if fcntl is not None:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                who = holder(self.path)
                os.close(self.fd)
                self.fd = None
                raise LockedError(f"{self.path.parent} is being written by another batch ({who})") from None  # fmt: skip
        me = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%d %H:%M:%S")}  # fmt: skip
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, json.dumps(me).encode(), 0)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)  # released: nobody holds it (the file stays; see held())
            os.close(self.fd)
            self.fd = None


def holder(path: Path) -> str:
    """Who holds the lock, as its file says: `pid 123 on host, since ...`."""
    try:
        who = json.loads(Path(path).read_text(encoding="utf-8") or "{}")
        return f"pid {who['pid']} on {who['host']}, since {who['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "a process that has not said who it is"


def held(folder: Path) -> str | None:
    """Who holds the folder's lock now, or None when no batch is writing it."""
    path = Path(folder) / LOCK_NAME
    if fcntl is None or not path.is_file():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return holder(path)
    finally:
        os.close(fd)  # closing releases a lock it took
    return None
