"""Scratch folders: an encoder that needs files on disk (ffmpeg's tags file, a GIF or MP4 encoded
to hash what a reader decodes) → a temp folder named for this process, removed in `finally`.
A process killed with kill -9 can't clean up, so each new scratch folder first removes those of
gencode processes that are gone (and folders older releases left, once they are a day old).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gencode.runtime.atomic import process_alive

PREFIX = "gencode-scratch-"
_LEGACY = ("gencode-mp4-*", "gencode-px-*")  # no process id in the name: swept by age
_LEGACY_AGE = 24 * 3600


@contextmanager
def scratch_dir() -> Iterator[Path]:
    """A fresh temp folder for this process, removed however the block ends."""
    sweep_scratch()
    path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}p{os.getpid()}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def sweep_scratch(root: Path | None = None) -> list[Path]:
    """Remove scratch folders of processes that no longer run; returns what was removed."""
    root = Path(root or tempfile.gettempdir())
    gone = []
    for d in root.glob(f"{PREFIX}p*-*"):
        pid = d.name[len(PREFIX) + 1 :].split("-", 1)[0]
        if pid.isdigit() and not process_alive(int(pid)) and d.is_dir():
            shutil.rmtree(d, ignore_errors=True)
            gone.append(d)
    for pattern in _LEGACY:
        for d in root.glob(pattern):
            try:
                old = time.time() - d.stat().st_mtime > _LEGACY_AGE
            except OSError:
                continue
            if old and d.is_dir():
                shutil.rmtree(d, ignore_errors=True)
                gone.append(d)
    return gone
