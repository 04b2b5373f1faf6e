"""Verify: files and batch folders → the problems found, each naming the file and what is wrong.

A file must carry a record whose pixel hash matches the pixels decoded from it and whose
signature (if any, or if required) holds; a GIF/MP4's sidecar must agree with it. A batch folder
must also agree with its catalog, row for row and file for file, and with its manifest.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from gencode.graph import canonical
from gencode.provenance.pixels import UnreadableImage, decode_file, pixel_sha256
from gencode.provenance.record import is_record
from gencode.provenance.signing import check_signature, known_keys
from gencode.runtime.atomic import TEMP_MARK

MEDIA = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".mp4")


@dataclass(frozen=True)
class Problem:
    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class Policy:
    """What verify insists on beyond integrity: a signature, by one of these key ids."""

    require_signature: bool = False
    trusted: set[str] | None = None  # None: any valid signature is accepted
    c2pa_trust: bytes | None = None  # PEM trust anchors for C2PA credentials


@dataclass
class Report:
    files: int = 0
    problems: list[Problem] = field(default_factory=list)
    signers: Counter = field(default_factory=Counter)  # key label → files it signed
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, path: Path, message: str) -> None:
        self.problems.append(Problem(Path(path), message))


def verify(paths: list[Path], policy: Policy | None = None) -> Report:
    """Check files and folders (a folder with a catalog is checked as a batch)."""
    from gencode.batch.catalog import CATALOG_NAME

    report, policy = Report(), policy or Policy()
    for path in map(Path, paths):
        if path.is_dir() and (path / CATALOG_NAME).is_file():
            verify_batch(path, report, policy)
        elif path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in MEDIA)
            if not found:
                report.problem(path, "no images or animations to verify")
            for p in found:
                verify_file(p, report, policy)
        elif path.is_file():
            verify_file(path, report, policy)
        else:
            report.problem(path, "no such file or folder")
    return report


def verify_file(path: Path, report: Report, policy: Policy) -> dict | None:
    """Check one file's record, pixels, signature and sidecar; its record, when it has one."""
    from gencode.runtime.outputs import read_record

    report.files += 1
    if TEMP_MARK in path.name:
        report.problem(path, "a temp file left by an interrupted write")
        return None
    try:
        record = read_record(path)
    except Exception as e:  # noqa: BLE001 — whatever the decoder says, the file is unreadable
        report.problem(path, f"unreadable: truncated, corrupt or not an image ({e})")
        return None
    if not is_record(record):
        report.problem(path, "carries no gencode record")
        return None
    assert record is not None
    _check_pixels(path, record, report)
    _check_signature(path, record, report, policy)
    _check_companions(path, record, report)
    _check_c2pa(path, record, report, policy)
    return record


def _check_pixels(path: Path, record: dict, report: Report) -> None:
    want = record.get("pixels") or {}
    try:
        pixels = decode_file(path)
    except UnreadableImage as e:
        report.problem(path, f"pixels unreadable: the file is truncated or corrupt ({e})")
        return
    if list(pixels.shape) != want.get("shape"):
        report.problem(path, f"pixel shape {list(pixels.shape)} differs from the record's {want.get('shape')}")  # fmt: skip
    elif (got := pixel_sha256(pixels)) != want.get("sha256"):
        report.problem(
            path,
            f"pixels changed: their sha256 is {got[:12]}…, the record says "
            f"{str(want.get('sha256'))[:12]}…",
        )


def _check_signature(path: Path, record: dict, report: Report, policy: Policy) -> None:
    check = check_signature(record)
    if check.status == "invalid":
        report.problem(path, f"signature invalid: {check.why} (edited after signing?)")
    elif check.status == "unsigned":
        if policy.require_signature or policy.trusted is not None:
            report.problem(path, "not signed")
    elif policy.trusted is not None and check.key_id not in policy.trusted:
        report.problem(path, f"signed by key {check.key_id}, which is not a key you trust")
    else:
        name = known_keys().get(str(check.key_id))
        report.signers[f"{check.key_id} ({name})" if name else str(check.key_id)] += 1


def _check_companions(path: Path, record: dict, report: Report) -> None:
    """A GIF/MP4's sidecar, and a PNG's A1111 `parameters` text, must agree with the record."""
    from gencode.provenance.a1111 import infotext
    from gencode.runtime.outputs import sidecar_path

    if path.suffix.lower() in (".gif", ".mp4"):
        side = sidecar_path(path)
        if not side.is_file():
            report.notes.append(f"{path}: no sidecar {side.name} (the embedded record was checked)")
        else:
            try:
                same = json.loads(side.read_text(encoding="utf-8")) == record
            except (OSError, ValueError):
                same = False
            if not same:
                report.problem(side, f"sidecar disagrees with the record embedded in {path.name}")
    if path.suffix.lower() == ".png":
        from PIL import Image

        try:
            with Image.open(path) as img:
                text = getattr(img, "text", {}).get("parameters")
        except (OSError, SyntaxError, ValueError):
            return  # unreadable past the header: the pixel check has said so
        if text is not None and text != infotext(record):
            report.problem(path, "its `parameters` text does not match its record")


def _check_c2pa(path: Path, record: dict, report: Report, policy: Policy) -> None:
    """C2PA credentials, when the file has some and the `c2pa` extra is installed."""
    from gencode.provenance import c2pa

    if b"c2pa" not in path.read_bytes():  # no manifest: skip the reader (most files)
        return
    try:
        reading = c2pa.read(path, policy.c2pa_trust)
    except c2pa.C2paError as e:
        report.notes.append(f"{path}: has C2PA credentials, not checked: {e}")
        return
    if reading is None:
        return
    if reading.failures or reading.state == "Invalid":
        report.problem(path, f"C2PA credentials invalid: {', '.join(reading.failures) or reading.state}")  # fmt: skip
    elif reading.record != record:
        report.problem(path, "C2PA credentials carry a different record than the file's")
    else:
        report.signers[f"C2PA {reading.issuer}, {reading.state.lower()}"] += 1


# ---- batch folders -----------------------------------------------------------------------------


def verify_batch(folder: Path, report: Report, policy: Policy) -> None:
    """A batch folder: every catalog row against its file, every file against the catalog."""
    from gencode.batch.catalog import Catalog, CatalogError

    try:
        with Catalog.open(folder) as cat:
            rows, pending = cat.rows(), cat.pending_items()
    except CatalogError as e:
        report.problem(folder, str(e))
        return
    listed = {r.path for r in rows}
    for row in rows:
        path = folder / row.path
        if not path.is_file():
            report.problem(path, "listed in the catalog but missing")
            continue
        record = verify_file(path, report, policy)
        if record is not None and canonical(record) != row.record:
            report.problem(path, "its record differs from the catalog's (file or catalog edited)")
        if record is not None and row.pixel_sha256 != (record.get("pixels") or {}).get("sha256"):
            report.problem(path, "the catalog's pixel hash differs from the file's record")
    if pending:
        report.problem(folder, f"{len(pending)} item(s) unfinished, e.g. {pending[0]} (run the batch again to resume)")  # fmt: skip
    extras = _manifest(folder, rows, report, policy)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if TEMP_MARK in path.name:
            report.problem(path, "a temp file left by an interrupted write")
        elif path.suffix.lower() in MEDIA and rel not in listed and rel not in extras:
            report.problem(path, "not in the catalog (its row was removed, or the file added)")


def _manifest(folder: Path, rows: list, report: Report, policy: Policy) -> set[str]:
    """Check the manifest against the catalog; the extra files it lists (the grid)."""
    from gencode.batch.runner import MANIFEST_NAME, outputs_digest

    path = folder / MANIFEST_NAME
    if not path.is_file():
        report.problem(path, "missing: the batch has not finished (run it again to resume)")
        return set()
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        report.problem(path, f"unreadable ({e})")
        return set()
    if doc.get("outputs") != len(rows) or doc.get("outputs_sha256") != outputs_digest(rows):
        report.problem(path, f"the catalog does not match: {len(rows)} rows now, {doc.get('outputs')} when the batch finished")  # fmt: skip
    if check_signature(doc).status == "invalid":
        report.problem(path, "signature invalid: the manifest was edited after signing")
    grid = doc.get("grid")
    if grid:
        verify_file(folder / grid, report, policy)
    return {grid} if grid else set()
