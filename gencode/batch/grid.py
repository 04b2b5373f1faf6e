"""The contact sheet: a batch's first still of every item → one PNG grid, with its own record."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import numpy as np

from gencode.batch.catalog import Row
from gencode.outputs_paths import STILL_FORMATS
from gencode.provenance.pixels import decode_file, pixel_sha256
from gencode.provenance.record import SCHEMA, now
from gencode.runtime.outputs import write_still

GRID_NAME = "grid.png"
GAP = 2  # pixels of background between tiles


def tiles(rows: list[Row]) -> list[Row]:
    """Each item's first still (by path), in item order."""
    first: dict[str, Row] = {}
    for r in sorted(rows, key=lambda r: (r.item, r.path)):
        if PurePosixPath(r.path).suffix.lower() in STILL_FORMATS:
            first.setdefault(r.item, r)
    return list(first.values())


def layout(images: list[np.ndarray]) -> np.ndarray:
    """Images (H, W, 3) of any sizes → one (H', W', 3) sheet, row-major, about square."""
    cols = math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / cols)
    th = max(a.shape[0] for a in images)
    tw = max(a.shape[1] for a in images)
    sheet = np.zeros((rows * (th + GAP) - GAP, cols * (tw + GAP) - GAP, 3), np.uint8)
    for i, a in enumerate(images):
        y, x = divmod(i, cols)
        y0, x0 = y * (th + GAP), x * (tw + GAP)
        sheet[y0 : y0 + a.shape[0], x0 : x0 + a.shape[1]] = a
    return sheet


def contact_sheet(
    folder: Path, rows: list[Row], signer: Callable[[dict], dict] | None = None
) -> Path | None:
    """Write `grid.png` in the batch folder; None when the batch has no stills."""
    chosen = tiles(rows)
    if not chosen:
        return None
    sheet = layout([decode_file(Path(folder) / r.path) for r in chosen])
    record = {
        "schema": SCHEMA,
        "kind": "contact-sheet",
        "created": now(),
        "tiles": [{"item": r.item, "file": r.path, "pixel_sha256": r.pixel_sha256} for r in chosen],
        "size": [int(sheet.shape[1]), int(sheet.shape[0])],
        "pixels": {"sha256": pixel_sha256(sheet), "shape": list(sheet.shape)},
    }
    return write_still(Path(folder) / GRID_NAME, sheet, signer(record) if signer else record)
