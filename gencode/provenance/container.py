"""Containers as gencode writes them: a file → what in its structure gencode would not have written.

A record's pixel hash covers the decoded pixels, and its signature covers the record; what
else a viewer shows comes from the container around them. So `verify` accepts a file only in
the layout gencode's writers produce: a PNG is IHDR (8-bit RGB), one `gencode` iTXt, at most
one `parameters` tEXt, optionally a C2PA manifest, the IDAT data and IEND, and nothing after
it — no gamma, transparency, EXIF, APNG frames, second records or trailing bytes. JPEG, WebP,
GIF and MP4 get the same treatment for their own structures. Each check returns problems
as sentences; an empty list means the layout is gencode's.
"""

from __future__ import annotations

import re
import struct
import subprocess
from collections import Counter
from pathlib import Path

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_TEXT_KEYS = {b"iTXt": b"gencode", b"tEXt": b"parameters"}  # the one keyword each may carry
_PNG_BEFORE_IDAT = {b"iTXt", b"tEXt", b"caBX"}  # caBX: a C2PA manifest store


def problems(path: Path, record: dict) -> list[str]:
    """What in the file's structure gencode's writer for its format would not have written."""
    check = {".png": png, ".jpg": jpeg, ".jpeg": jpeg, ".webp": webp, ".gif": gif, ".mp4": mp4}
    fn = check.get(Path(path).suffix.lower())
    return fn(Path(path), record) if fn else []


def png(path: Path, record: dict) -> list[str]:
    data = path.read_bytes()
    if not data.startswith(_PNG_SIGNATURE):
        return ["not a PNG file"]
    chunks, end = _png_chunks(data)
    names = [c for c, _ in chunks]
    found: list[str] = []
    if not names or names[0] != b"IHDR":
        return ["the PNG does not start with its header"]
    _, ihdr = chunks[0]
    if len(ihdr) != 13 or ihdr[8:10] != b"\x08\x02" or ihdr[12] != 0:
        found.append("the PNG is not 8-bit RGB, non-interlaced, as gencode writes it")
    if b"IDAT" not in names or b"IEND" not in names:
        return found + ["the PNG is truncated (no image data or no end)"]
    first, last = names.index(b"IDAT"), len(names) - 1 - names[::-1].index(b"IDAT")
    if names[last + 1 :] != [b"IEND"] or names[first : last + 1] != [b"IDAT"] * (last + 1 - first):
        found.append("chunks after the image data (a second record or frame placed after IDAT)")
    extra = sorted({c.decode("latin-1") for c in names[1:first] if c not in _PNG_BEFORE_IDAT})
    if extra:
        found.append(f"chunks gencode does not write, which change what a viewer shows: {', '.join(extra)}")  # fmt: skip
    keys = Counter((c, body.split(b"\0", 1)[0]) for c, body in chunks if c in _PNG_TEXT_KEYS)
    for (c, key), n in sorted(keys.items()):
        if key != _PNG_TEXT_KEYS[c]:
            found.append(f"a {c.decode()} chunk '{key.decode('latin-1')}' gencode does not write")
        elif n > 1:
            found.append(f"{n} '{key.decode()}' chunks: other readers may show a forged one")
    if keys[(b"iTXt", b"gencode")] == 0:
        found.append("no gencode record chunk (iTXt)")
    if names.count(b"caBX") > 1:
        found.append("more than one C2PA manifest")
    if end < len(data):
        found.append(f"{len(data) - end} bytes after the end of the PNG")
    return found


def _png_chunks(data: bytes) -> tuple[list[tuple[bytes, bytes]], int]:
    """(type, body) of each chunk up to IEND, and the offset just past IEND (or the end)."""
    chunks, i = [], len(_PNG_SIGNATURE)
    while i + 12 <= len(data):
        (n,) = struct.unpack(">I", data[i : i + 4])
        kind, body = data[i + 4 : i + 8], data[i + 8 : i + 8 + n]
        chunks.append((kind, body))
        i += 12 + n
        if kind == b"IEND":
            break
    return chunks, min(i, len(data))


def jpeg(path: Path, record: dict) -> list[str]:
    data = path.read_bytes()
    if not data.startswith(b"\xff\xd8"):
        return ["not a JPEG file"]
    i, comments, extra = 2, 0, set()
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        (n,) = struct.unpack(">H", data[i + 2 : i + 4])
        if marker == 0xFE:
            comments += 1
        elif 0xE1 <= marker <= 0xEF and marker != 0xEB:  # APP1.. (EXIF, ICC, XMP); APP11: C2PA
            extra.add(f"APP{marker - 0xE0}")
        i += 2 + n
        if marker == 0xDA:  # start of scan: entropy-coded data up to EOI
            eoi = data.find(b"\xff\xd9", i)
            i = len(data) + 1 if eoi < 0 else eoi + 2
            break
    found = [f"{comments} comment segments: other readers may show a forged record"] if comments > 1 else []  # fmt: skip
    if extra:
        found.append(f"segments gencode does not write, which change what a viewer shows: {', '.join(sorted(extra))}")  # fmt: skip
    if i < len(data):
        found.append(f"{len(data) - i} bytes after the end of the JPEG")
    return found


def webp(path: Path, record: dict) -> list[str]:
    data = path.read_bytes()
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return ["not a WebP file"]
    (size,) = struct.unpack("<I", data[4:8])
    found = [f"{len(data) - 8 - size} bytes after the end of the WebP"] if size + 8 < len(data) else []  # fmt: skip
    i, kinds = 12, []
    while i + 8 <= min(len(data), size + 8):
        kind, (n,) = data[i : i + 4], struct.unpack("<I", data[i + 4 : i + 8])
        kinds.append(kind.decode("latin-1"))
        i += 8 + n + (n & 1)
    extra = sorted(set(kinds) - {"VP8X", "VP8L", "EXIF", "C2PA"})
    if extra:
        found.append(f"chunks gencode does not write, which change what a viewer shows: {', '.join(extra)}")  # fmt: skip
    if kinds.count("EXIF") > 1:
        found.append("more than one EXIF chunk: other readers may show a forged record")
    return found


def gif(path: Path, record: dict) -> list[str]:
    data = path.read_bytes()
    if data[:6] not in (b"GIF87a", b"GIF89a") or len(data) < 13:
        return ["not a GIF file"]
    i = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    comments, apps = 0, []
    while i < len(data) and data[i] != 0x3B:
        if data[i] == 0x21:  # extension: label, then sub-blocks
            label = data[i + 1]
            if label == 0xFE:
                comments += 1
            elif label == 0xFF:
                apps.append(data[i + 3 : i + 11].decode("latin-1"))  # the 8-byte identifier
            i = _skip_blocks(data, i + 2)
        elif data[i] == 0x2C:  # image: descriptor, local table, LZW size, sub-blocks
            flags = data[i + 9] if i + 9 < len(data) else 0
            i += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
            i = _skip_blocks(data, i + 1)
        else:
            return ["the GIF's blocks are corrupt"]
    found = [f"{comments} comment blocks: other readers may show a forged record"] if comments > 1 else []  # fmt: skip
    extra = sorted({a for a in apps if a not in ("NETSCAPE", "C2PA_GIF")})
    if extra:
        found.append(f"application blocks gencode does not write: {', '.join(extra)}")
    if i + 1 < len(data):
        found.append(f"{len(data) - i - 1} bytes after the end of the GIF")
    return found


def _skip_blocks(data: bytes, i: int) -> int:
    """The offset past a chain of GIF sub-blocks starting at `i`."""
    while i < len(data) and data[i]:
        i += data[i] + 1
    return i + 1


_STREAM = re.compile(r"Stream #\d+:\d+.*?: (Video|Audio|Data|Subtitle|Attachment)")


def mp4(path: Path, record: dict) -> list[str]:
    """One video stream, and a soundtrack only when the record names one."""
    import imageio_ffmpeg

    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)]
    err = subprocess.run(cmd, capture_output=True, check=False).stderr.decode(errors="replace")
    kinds = Counter(_STREAM.findall(err))
    audio = 1 if (record.get("output") or {}).get("audio") else 0
    found = []
    if kinds["Video"] != 1:
        found.append(f"{kinds['Video']} video streams, not 1")
    if kinds["Audio"] != audio:
        found.append(f"{kinds['Audio']} audio streams, the record says {audio} (a soundtrack added or removed)")  # fmt: skip
    other = sorted(k for k in kinds if k not in ("Video", "Audio"))
    if other:
        found.append(f"streams gencode does not write: {', '.join(other)}")
    return found
