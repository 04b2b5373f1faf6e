"""Verify: files and batch folders → the problems found, each naming the file and what is wrong.

A file must carry a well-formed record that names the file, whose pixel hash matches the pixels
decoded from it, in a container laid out as gencode writes it (`container`), with a signature
that holds (and, when one is required, is by a key you trust) and credentials that hold; a
GIF/MP4's sidecar must be there and agree. A batch folder (one with a catalog or a manifest) must
also agree with its catalog, row for row and file for file, and with its manifest. Temp files of
killed writers are reported and removed. What this promises is written in docs/provenance.md.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from gencode.graph import canonical
from gencode.provenance import container
from gencode.provenance.pixels import UnreadableImage, decode_file, pixel_sha256
from gencode.provenance.schema import RecordError, load
from gencode.provenance.signing import check_signature, keys_dir, known_keys
from gencode.runtime.atomic import TEMP_MARK, sweep_temp_files

MEDIA = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".mp4")


@dataclass(frozen=True)
class Problem:
    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class Policy:
    """What verify insists on beyond integrity: signatures by trusted keys, C2PA credentials."""

    require_signature: bool = False  # signed by a trusted key: `trusted`, else the keys folder's
    trusted: set[str] | None = (
        None  # --key ids: only these are trusted (and a signature is required)
    )
    c2pa_trust: bytes | None = None  # PEM trust anchors for C2PA credentials
    require_c2pa: bool = False  # every file carries valid C2PA credentials

    def trusted_keys(self) -> dict[str, str]:
        """key id → how the output names it: the --key ids, else the keys folder's keys."""
        if self.trusted is not None:
            names = known_keys()
            return {k: names.get(k, "--key") for k in self.trusted}
        return known_keys()

    @property
    def strict(self) -> bool:
        return self.require_signature or self.trusted is not None


@dataclass
class Report:
    files: int = 0
    problems: list[Problem] = field(default_factory=list)
    signers: Counter = field(default_factory=Counter)  # key label → files it signed
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, path: Path, message: str) -> None:
        self.problems.append(Problem(Path(path), message))


def verify(paths: list[Path], policy: Policy | None = None) -> Report:
    """Check files and folders (a folder with a catalog or a manifest is checked as a batch)."""
    from gencode.batch.catalog import CATALOG_NAME
    from gencode.batch.runner import MANIFEST_NAME

    report, policy = Report(), policy or Policy()
    for path in map(Path, paths):
        if path.is_dir() and any((path / n).exists() for n in (CATALOG_NAME, MANIFEST_NAME)):
            verify_batch(path, report, policy)
        elif path.is_dir():
            _sweep(path, report)
            found = _media(path)
            if not found:
                report.problem(path, "no images or animations to verify")
            for p in found:
                verify_file(p, report, policy)
        elif path.is_file():
            verify_file(path, report, policy)
        elif path.exists():
            report.problem(path, "not a regular file or folder")
        else:
            report.problem(path, "no such file or folder")
    return report


def _media(folder: Path) -> list[Path]:
    """The images and animations under a folder: regular files only (no FIFO can hang verify)."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in MEDIA and p.is_file() and TEMP_MARK not in p.name)  # fmt: skip


def _sweep(folder: Path, report: Report) -> None:
    """Remove the temp files killed writers left, saying so (a running writer's are kept)."""
    for p in sweep_temp_files(folder):
        report.notes.append(f"{p}: removed a temp file left by an interrupted write")


def verify_file(path: Path, report: Report, policy: Policy, c2pa: bool = False) -> dict | None:
    """Check one file's record, pixels, container, signature and sidecar; its record, when it
    has one. `c2pa`: it must carry C2PA credentials (a batch signed with them)."""
    report.files += 1
    if TEMP_MARK in path.name:
        report.problem(path, "a temp file left by a write still running or interrupted")
        return None
    try:
        record = load(path)
    except RecordError as e:
        report.problem(path, str(e))
        return None
    except Exception as e:  # noqa: BLE001 — whatever the decoder says, the file is unreadable
        report.problem(path, f"unreadable: truncated, corrupt or not an image ({e})")
        return None
    if record is None:
        report.problem(path, "carries no gencode record")
        return None
    _check_name(path, record, report)
    if _check_pixels(path, record, report):  # a truncated file is said once, here
        for message in container.problems(path, record):
            report.problem(path, message)
    _check_signature(path, record, report, policy)
    _check_companions(path, record, report)
    _check_c2pa(path, record, report, policy, c2pa)
    return record


def _check_name(path: Path, record: dict, report: Report) -> None:
    """The record names its file (and a batch item its folder): a signed file renamed, or two
    swapped, no longer verify."""
    file = (record.get("output") or {}).get("file")
    if file is None:
        return  # a contact sheet: it names the files it tiles instead
    item = (record.get("batch") or {}).get("item")
    want = PurePosixPath(*([item] if isinstance(item, str) else []), str(file))
    if Path(path).parts[-len(want.parts) :] != want.parts:
        report.problem(path, f"the record is of the file '{want}', not this one (renamed or swapped?)")  # fmt: skip


def _check_pixels(path: Path, record: dict, report: Report) -> bool:
    """Whether the pixels decode; a problem when they differ from the record's."""
    want = record.get("pixels") or {}
    try:
        pixels = decode_file(path)
    except UnreadableImage as e:
        report.problem(path, f"pixels unreadable: the file is truncated or corrupt ({e})")
        return False
    if list(pixels.shape) != want.get("shape"):
        report.problem(path, f"pixel shape {list(pixels.shape)} differs from the record's {want.get('shape')}")  # fmt: skip
    elif (got := pixel_sha256(pixels)) != want.get("sha256"):
        report.problem(
            path,
            f"pixels changed: their sha256 is {got[:12]}…, the record says "
            f"{str(want.get('sha256'))[:12]}…",
        )
    return True


def _check_signature(path: Path, record: dict, report: Report, policy: Policy) -> None:
    check = check_signature(record)
    trusted = policy.trusted_keys()
    if check.status == "invalid":
        report.problem(path, f"signature invalid: {check.why} (edited after signing?)")
    elif check.status == "unsigned":
        if policy.strict:
            report.problem(path, "not signed")
    elif check.key_id in trusted:
        report.signers[f"{check.key_id} ({trusted[str(check.key_id)]}, trusted)"] += 1
    elif policy.strict:
        where = "the --key given" if policy.trusted is not None else f"your trusted keys ({keys_dir()})"  # fmt: skip
        report.problem(path, f"signed by key {check.key_id}, which is not one of {where}")
    else:
        report.signers[f"{check.key_id} (unknown key, NOT trusted)"] += 1
        report.warnings.append(f"{path}: signed by key {check.key_id}, which is not one of your trusted keys: the signature shows the record is unchanged since signing, not who signed it")  # fmt: skip


def _check_companions(path: Path, record: dict, report: Report) -> None:
    """A GIF/MP4's sidecar, and a PNG's A1111 `parameters` text, must agree with the record."""
    from gencode.a1111 import infotext
    from gencode.runtime.outputs import sidecar_path

    if path.suffix.lower() in (".gif", ".mp4"):
        side = sidecar_path(path)
        if not side.is_file():
            report.problem(
                path, f"its sidecar {side.name} is missing (deleted, or the pair was split)"
            )
        else:
            try:
                same = json.loads(side.read_text(encoding="utf-8")) == record
            except (OSError, ValueError, RecursionError):
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


def _check_c2pa(path: Path, record: dict, report: Report, policy: Policy, required: bool = False) -> None:  # fmt: skip
    """C2PA credentials, when the file has some (or must: --require-c2pa, or a C2PA batch)."""
    from gencode.provenance import c2pa

    required = required or policy.require_c2pa
    if not c2pa.has_manifest(path):  # no manifest: skip the reader (most files)
        if required:
            report.problem(path, "no C2PA credentials (required here: stripped?)")
        return
    try:
        reading = c2pa.read(path, policy.c2pa_trust)
    except c2pa.C2paError as e:
        if required:
            report.problem(path, f"C2PA credentials not checked: {e}")
        else:
            report.notes.append(f"{path}: has C2PA credentials, not checked: {e}")
        return
    if reading is None:
        if required:
            report.problem(path, "no readable C2PA credentials (required here)")
        return
    if reading.failures or reading.state == "Invalid":
        report.problem(path, f"C2PA credentials invalid: {', '.join(reading.failures) or reading.state}")  # fmt: skip
    elif reading.record != record:
        report.problem(path, "C2PA credentials carry a different record than the file's")
    else:
        report.signers[f"C2PA {reading.issuer}, {reading.state.lower()}"] += 1


# ---- batch folders -----------------------------------------------------------------------------


def verify_batch(folder: Path, report: Report, policy: Policy) -> None:
    """A batch folder: every catalog row against its file, every file against the catalog, the
    catalog against the manifest. A batch still running is reported, not swept under it."""
    from gencode.batch.lock import held

    if who := held(folder):
        report.problem(folder, f"a batch is writing this folder now ({who}); verify it once it has finished")  # fmt: skip
        return
    _sweep(folder, report)
    doc = _read_manifest(folder, report)
    rows, c2pa = _catalog(folder, report, doc)
    c2pa = c2pa or bool(doc and doc.get("c2pa"))  # a batch signed with C2PA stays so
    if rows is None:  # no usable catalog: each file on its own, so nothing passes unseen
        for path in _media(folder):
            verify_file(path, report, policy, c2pa=c2pa)
        return
    listed = {r.path for r in rows}
    for row in rows:
        path = folder / row.path
        if not path.is_file():
            report.problem(path, "listed in the catalog but missing")
            continue
        record = verify_file(path, report, policy, c2pa=c2pa)
        if record is not None and canonical(record) != row.record:
            report.problem(path, "its record differs from the catalog's (file or catalog edited)")
        if record is not None and row.pixel_sha256 != (record.get("pixels") or {}).get("sha256"):
            report.problem(path, "the catalog's pixel hash differs from the file's record")
    extras = _check_manifest(folder, doc, rows, report, policy)
    for path in _media(folder):
        rel = path.relative_to(folder).as_posix()
        if rel not in listed and rel not in extras:
            report.problem(path, "not in the catalog (its row was removed, or the file added)")


def _catalog(folder: Path, report: Report, doc: dict | None) -> tuple[list | None, bool]:
    """The catalog's rows (None when it is missing or unreadable) and whether it asks for C2PA."""
    from gencode.batch.catalog import CATALOG_NAME, Catalog, CatalogError

    if not (folder / CATALOG_NAME).is_file():
        n = doc.get("outputs") if doc else "?"
        report.problem(folder / CATALOG_NAME, f"missing: the manifest says this batch holds {n} files; each file present is checked on its own")  # fmt: skip
        return None, False
    try:
        with Catalog.open(folder) as cat:
            rows, pending, meta = cat.rows(), cat.pending_items(), cat.meta()
    except CatalogError as e:
        report.problem(folder, str(e))
        return None, False
    if pending:
        report.problem(folder, f"{len(pending)} item(s) unfinished, e.g. {pending[0]} (run the batch again to resume)")  # fmt: skip
    return rows, bool(meta.get("c2pa"))


def _read_manifest(folder: Path, report: Report) -> dict | None:
    from gencode.batch.runner import BatchError, read_manifest

    try:
        return read_manifest(folder)
    except BatchError as e:
        report.problem(folder, str(e))
        return None


def _check_manifest(folder: Path, doc: dict | None, rows: list, report: Report, policy: Policy) -> set[str]:  # fmt: skip
    """Check the manifest against the catalog; the extra files it lists (the grid)."""
    from gencode.batch.runner import MANIFEST_NAME, outputs_digest

    path = folder / MANIFEST_NAME
    if doc is None:
        report.problem(path, "missing: the batch has not finished (run it again to resume)")
        return set()
    if doc.get("outputs") != len(rows) or doc.get("outputs_sha256") != outputs_digest(rows):
        report.problem(path, f"the catalog does not match: {len(rows)} rows now, {doc.get('outputs')} when the batch finished")  # fmt: skip
    check = check_signature(doc)
    if check.status == "invalid":
        report.problem(path, "signature invalid: the manifest was edited after signing")
    elif policy.strict and check.key_id not in policy.trusted_keys():
        report.problem(path, "not signed by a key you trust")
    grid = doc.get("grid")
    if isinstance(grid, str) and grid:
        verify_file(folder / grid, report, policy)
        return {grid}
    return set()
