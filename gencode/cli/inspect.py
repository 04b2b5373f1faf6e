"""`gencode inspect FILE`: print the provenance record an output carries (or say it has none)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


def load_record(path: Path) -> dict | None:
    """The record in an image or animation, or in a record JSON file (a sidecar)."""
    from gencode.provenance.record import is_record
    from gencode.runtime.outputs import read_record

    if path.suffix.lower() == ".json":
        from gencode.files import FileProblem, loads_json, read_text
        from gencode.limits import MAX_JSON_BYTES

        try:  # a FIFO is refused, not waited on; deep nesting is an error, not a traceback
            doc = loads_json(read_text(path, MAX_JSON_BYTES, "record"), str(path))
        except (FileProblem, ValueError):
            return None
        return doc if is_record(doc) else None
    record = read_record(path)
    return record if is_record(record) else None


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
        ("batch", ", ".join(f"{k} {v}" for k, v in (record.get("batch") or {}).items() if v not in (None, {}))),
    ]  # fmt: skip
    return [(k, v) for k, v in rows if v] + [("signature", _signature(record))]


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
    path = Path(file)
    try:
        record = load_record(path)
    except Exception as e:  # noqa: BLE001 — a corrupt file is reported, not a traceback
        click.echo(f"{file}: unreadable ({e})", err=True)
        sys.exit(1)
    if record is None:
        click.echo(f"{file}: carries no gencode record", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(record, indent=2, ensure_ascii=False, sort_keys=True))
        return
    click.echo(f"{file}: gencode record ({record.get('schema')})")
    for label, text in lines(record):
        click.echo(f"  {label:<10}{text}")
    if source:
        click.echo("\n" + (record.get("script") or {}).get("source", "").rstrip())
