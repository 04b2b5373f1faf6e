"""`gencode inspect FILE`: print the provenance record an output carries (or say it has none)."""

from __future__ import annotations

import json
import sys
import unicodedata
from pathlib import Path

import click


def load_record(path: Path) -> dict | None:
    """The validated record in an image or animation, or in a record JSON file (a sidecar)."""
    from gencode.provenance.schema import load

    return load(path)


def printable(text: str, keep: str = "") -> str:
    """`text` with control and format characters (terminal escapes, bidi overrides) shown as
    escapes, so a record can't drive the terminal; characters in `keep` stay as they are."""
    return "".join(
        c if c in keep or unicodedata.category(c) not in ("Cc", "Cf") else _escape(c) for c in text
    )


def _escape(c: str) -> str:
    return f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"


def _short(sha: object) -> str:
    return f"{str(sha)[:12]}…" if sha else "?"


def lines(record: dict) -> list[tuple[str, str]]:
    """The record as (label, text) rows, most useful first."""
    if "tiles" in record:
        return _sheet_lines(record)
    out, script, env = record.get("output") or {}, record.get("script") or {}, record.get("environment") or {}  # fmt: skip
    model, size = record.get("model") or {}, record.get("size") or ["?", "?"]
    frame = out.get("frame")
    kind = f"frame {frame}" if frame is not None else f"{out['frames']} frames at {out['fps']:g} fps" if out.get("frames") else "still"  # fmt: skip
    rows = [
        ("output", f"{out.get('name', record.get('kind', '?'))} ({kind}), node {_short(out.get('node'))}"),
        ("script", f"{script.get('file', '?')}, sha256 {_short(script.get('sha256'))}"),
        ("sets", ", ".join(f"{k}={v}" for k, v in (script.get("sets") or {}).items())),
        ("prompt", record.get("prompt") or ""),
        ("negative", record.get("negative") or ""),
        ("model", f"{model.get('name')}, sha256 {_short(model.get('sha256'))}" if model else ""),
        ("sampler", ", ".join(t for t, v in [(str(record.get("sampler")), record.get("sampler")), (f"{record.get('steps')} steps", record.get("steps")), (f"guidance {record.get('guidance')}", record.get("guidance"))] if v is not None)),
        ("seeds", ", ".join(map(str, record.get("seeds") or []))),
        ("size", f"{size[0]}x{size[1]}"),
        ("device", f"{env.get('device')}, {env.get('dtype')}" if env else ""),
        ("versions", f"gencode {env.get('gencode')}, torch {env.get('torch')}, python {env.get('python')} on {env.get('platform')}" if env else ""),
        ("created", str(record.get("created", ""))),
        ("pixels", f"sha256 {_short((record.get('pixels') or {}).get('sha256'))}, shape {(record.get('pixels') or {}).get('shape')}"),
        ("batch", _batch(record.get("batch") or {})),
    ]  # fmt: skip
    return [(k, v) for k, v in rows if v] + [("signature", _signature(record))]


def _batch(batch: dict) -> str:
    """A batch item as `item seed-0003, seed 3, sweep g=2.5`."""
    sweep = ", ".join(f"{k}={v}" for k, v in (batch.get("sweep") or {}).items())
    parts = [("item", batch.get("item")), ("seed", batch.get("seed")), ("sweep", sweep or None)]
    return ", ".join(f"{k} {v}" for k, v in parts if v is not None)


def _sheet_lines(record: dict) -> list[tuple[str, str]]:
    """A batch's contact sheet: made of other outputs, not rendered itself."""
    tiles = record["tiles"]
    size, px = record.get("size") or ["?", "?"], record.get("pixels") or {}
    return [
        ("sheet", f"{len(tiles)} items, {tiles[0]['file']} first" if tiles else "empty"),
        ("size", f"{size[0]}x{size[1]}"),
        ("created", str(record.get("created", ""))),
        ("pixels", f"sha256 {_short(px.get('sha256'))}, shape {px.get('shape')}"),
        ("signature", _signature(record)),
    ]


def _signature(record: dict) -> str:
    from gencode.provenance.signing import check_signature, known_keys

    check = check_signature(record)
    if check.status == "unsigned":
        return "none (unsigned)"
    if check.status == "invalid":
        return f"INVALID: {check.why}"
    name = known_keys().get(str(check.key_id))
    return f"valid, key {check.key_id}" + (f" ('{name}' in your keys)" if name else " (not in your keys)")  # fmt: skip


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")
@click.option("--source", is_flag=True, help="Also print the embedded script source.")
def inspect(file: str, as_json: bool, source: bool) -> None:
    """Print the provenance record of an image or animation gencode wrote."""
    from gencode.provenance.schema import RecordError

    path = Path(file)
    try:
        record = load_record(path)
    except RecordError as e:
        click.echo(f"{printable(file)}: {printable(str(e))}", err=True)
        sys.exit(1)
    except Exception as e:  # noqa: BLE001 — a corrupt file is reported, not a traceback
        click.echo(f"{printable(file)}: unreadable ({printable(str(e))})", err=True)
        sys.exit(1)
    if record is None:
        click.echo(f"{printable(file)}: carries no gencode record", err=True)
        sys.exit(1)
    if as_json:
        click.echo(
            printable(json.dumps(record, indent=2, ensure_ascii=False, sort_keys=True), "\n")
        )
        return
    click.echo(f"{printable(file)}: gencode record ({printable(str(record.get('schema')))})")
    credentials = c2pa_lines(path, record)
    rows = lines(record)
    if credentials and rows[-1] == ("signature", "none (unsigned)"):
        rows[-1] = ("signature", "no gencode key signature (C2PA credentials below)")
    for label, text in rows + credentials:
        click.echo(f"  {label:<10}{printable(text)}")
    if source:
        click.echo(
            "\n" + printable((record.get("script") or {}).get("source", "").rstrip(), "\n\t")
        )


def c2pa_lines(path: Path, record: dict) -> list[tuple[str, str]]:
    """The file's C2PA content credentials, when it has some: who signed, and their state."""
    from gencode.provenance import c2pa

    if path.suffix.lower() == ".json" or not c2pa.has_manifest(path):
        return []
    try:
        reading = c2pa.read(path)
    except c2pa.C2paError as e:
        return [("c2pa", f"present, not read: {e}")]
    if reading is None:
        return [("c2pa", "present, unreadable")]
    state = "invalid: " + ", ".join(reading.failures) if reading.failures or reading.state == "Invalid" else reading.state.lower()  # fmt: skip
    same = "carries this record" if reading.record == record else "carries a DIFFERENT record"
    return [("c2pa", f"signed by {reading.issuer}, {state}; {same}")]
