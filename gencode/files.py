"""Reading files a script names, safely: path text checked, regular files only, sizes bounded.

Input: a path (already confined by the caller) and a byte limit. Output: bytes, text or a
sha256, or a `FileProblem` whose message names the file and what is wrong with it. A FIFO, a
device or a folder is refused without blocking (opened with O_NONBLOCK, then fstat), and a file
over its limit is refused before it is read. Torch-free.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gencode.limits import MAX_JSON_BYTES, MAX_JSON_DEPTH, MAX_NAME_BYTES, MAX_PATH_BYTES


class FileProblem(Exception):
    """A file that can't be read as asked: not there, not a regular file, too big, undecodable.
    `why` is the reason alone (the message names the path too); `missing` when it isn't there."""

    def __init__(self, path: Path, why: str, missing: bool = False):
        super().__init__(f"{path}: {why}")
        self.why, self.missing = why, missing


def path_text_problem(text: str) -> str | None:
    """Why `text` can't name a file on any OS we run on (NUL, lone surrogates, too long), or None."""
    if "\0" in text:
        return "a path can't contain a NUL character"
    try:
        raw = os.fsencode(text)
    except UnicodeEncodeError:
        return "a path can't contain unpaired surrogate characters"
    if len(raw) > MAX_PATH_BYTES:
        return f"a path is at most {MAX_PATH_BYTES} bytes long (this one is {len(raw)})"
    longest = max((len(part) for part in raw.replace(b"\\", b"/").split(b"/")), default=0)
    if longest > MAX_NAME_BYTES:
        return (
            f"a file or folder name is at most {MAX_NAME_BYTES} bytes long (one here is {longest})"
        )
    return None


@contextmanager
def open_regular(path: Path, limit: int, what: str = "file") -> Iterator[Any]:
    """A binary file object for `path` if it is a regular file of at most `limit` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise FileProblem(path, f"no such {what}", missing=True) from None
    except (OSError, ValueError) as e:
        raise FileProblem(path, f"can't open the {what} ({_why(e)})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FileProblem(path, "not a regular file (a folder, FIFO or device); refused")
        if st.st_size > limit:
            raise FileProblem(
                path, f"the {what} is {st.st_size:,} bytes, more than the {limit:,} allowed"
            )
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with f:
        yield f


def read_bytes(path: Path, limit: int, what: str = "file") -> bytes:
    """The bytes of a regular file of at most `limit` bytes."""
    with open_regular(path, limit, what) as f:
        data = f.read(limit + 1)
    if len(data) > limit:  # it grew after the check
        raise FileProblem(path, f"the {what} is more than the {limit:,} bytes allowed")
    return data


def read_text(path: Path, limit: int, what: str = "file") -> str:
    """A UTF-8 text file; the error says where the first byte that is not UTF-8 is."""
    data = read_bytes(path, limit, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise FileProblem(path, f"the {what} is not UTF-8 text (byte {e.start})") from None


def sha256_file(path: Path, limit: int, what: str = "file") -> str:
    """sha256 of a regular file of at most `limit` bytes, read in blocks."""
    h = hashlib.sha256()
    with open_regular(path, limit, what) as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def loads_json(raw: str | bytes, where: str) -> Any:
    """JSON nested at most MAX_JSON_DEPTH deep (deeper is a ValueError, never a RecursionError,
    here or in whoever walks the value next), with no NaN or Infinity."""
    if len(raw) > MAX_JSON_BYTES:
        raise ValueError(f"{where}: more than {MAX_JSON_BYTES:,} bytes of JSON")
    try:
        doc = json.loads(raw, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        doc = None
    else:
        if json_depth(doc) <= MAX_JSON_DEPTH:
            return doc
    raise ValueError(f"{where}: JSON nested more than {MAX_JSON_DEPTH} levels deep")


def json_depth(doc: Any) -> int:
    """How deep lists and dicts nest in a loaded JSON value (iterative: any depth is fine)."""
    deepest, stack = 0, [(doc, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            items = value.values() if isinstance(value, dict) else value
            stack.extend((v, depth) for v in items if isinstance(v, dict | list))
    return deepest


def _finite(text: str) -> float:
    x = float(text)
    if not math.isfinite(x):
        raise ValueError(f"{text} is too large a number")
    return x


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _why(e: BaseException) -> str:
    return e.strerror if isinstance(e, OSError) and e.strerror else str(e)


# A soundtrack's container, told from its first bytes (never its name): ffmpeg is then told
# that exact demuxer, so a playlist (HLS .m3u8, .m3u, concat lists) dressed up as audio can't
# make it open other files. ffmpeg format name → a test on the first 12 bytes.
AUDIO_FORMATS: dict[str, Any] = {
    "wav": lambda b: b[:4] == b"RIFF" and b[8:12] == b"WAVE",
    "flac": lambda b: b[:4] == b"fLaC",
    "ogg": lambda b: b[:4] == b"OggS",
    "mp3": lambda b: b[:3] == b"ID3" or (len(b) > 1 and b[0] == 0xFF and b[1] & 0xE0 == 0xE0),
}


def audio_format(path: Path, limit: int) -> str:
    """The ffmpeg demuxer for a soundtrack file (wav, flac, ogg or mp3), read from its bytes."""
    with open_regular(path, limit, "audio file") as f:
        head = f.read(12)
    for name, test in AUDIO_FORMATS.items():
        if test(head):
            return name
    raise FileProblem(
        path, "not a WAV, FLAC, Ogg or MP3 file (playlists and other containers are refused)"
    )
