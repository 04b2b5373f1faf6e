"""Reproduce: a file's record → the recorded node re-rendered from the embedded script, compared.

The record is untrusted input: it is validated on read, its script is bounded in size and in
the graph it compiles to, and it never says where to read from. The script source and `--set`
values come from the record; models, images and includes are read from the root the command
line gives (default: the file's folder, or the nearest folder above it holding the recorded
script itself) and must have the recorded sha256. On the same device and versions the pixels
match exactly; otherwise the comparison gives the largest difference, the PSNR and which
environment fields differ from the record's. A record edited after the render (a seed, a prompt,
the `parameters` text) is named: the re-render's own record is compared with the file's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from gencode.ops.table import files_read
from gencode.provenance.pixels import UnreadableImage, as_written, decode_file, pixel_sha256
from gencode.provenance.record import ENV_FIELDS, environment, sha256_text

MAX_SOURCE = 1 << 20  # bytes of script a record may ask to re-render
MAX_NODES = 20_000  # distinct graph nodes behind the recorded output
# Fields that say when and where, not what: a re-render differs in them by design.
_CIRCUMSTANCE = ("created", "environment", "signature", "batch", "pixels", "script")


class ReproduceError(Exception):
    """The file can't be re-rendered: no record, a script error, a missing or changed model."""


@dataclass
class Outcome:
    """A re-render compared with the record and the file."""

    exact: bool  # the re-render's pixels have the recorded sha256
    file_intact: bool  # the file's pixels have it too
    max_diff: int = 0  # largest difference from the file's pixels, 0-255
    psnr: float = math.inf  # dB, against the file's pixels
    env_diffs: list[tuple[str, str, str]] = field(default_factory=list)  # (field, recorded, here)
    undecodable: str | None = None  # why the file's pixels can't be decoded
    edited: list[str] = field(default_factory=list)  # what in the record the script does not make

    @property
    def ok(self) -> bool:
        return self.exact and self.file_intact and not self.edited and self.undecodable is None


def reproduce(path: Path, device: str = "auto", root: Path | None = None) -> Outcome:
    """Re-render the node recorded in `path` and compare it with the record and the file."""
    record = read(Path(path))
    pixels, env, fresh_record = render_recorded(record, Path(path), device, root)
    suffix = PurePosixPath(record["output"]["file"]).suffix or Path(path).suffix
    fresh = as_written(pixels, suffix, record["output"].get("fps") or 10.0)
    want = record["pixels"]["sha256"]
    outcome = Outcome(pixel_sha256(fresh) == want, False, env_diffs=env_diffs(record, env))
    outcome.edited = edits(record, fresh_record) + parameters_edit(Path(path), record)
    try:
        on_file = decode_file(Path(path))
    except UnreadableImage as e:
        outcome.undecodable = str(e)
        return outcome
    outcome.file_intact = pixel_sha256(on_file) == want
    if on_file.shape == fresh.shape:
        outcome.max_diff, outcome.psnr = compare(fresh, on_file)
    else:
        outcome.max_diff, outcome.psnr = 255, 0.0
    return outcome


def read(path: Path) -> dict:
    """The file's record, validated, and one that can be re-rendered; else a ReproduceError."""
    from gencode.provenance.schema import RecordError, load

    try:
        record = load(path)
    except RecordError as e:
        raise ReproduceError(f"{path}: {e}") from None
    except Exception as e:  # noqa: BLE001 — any decoder failure means no record to read
        raise ReproduceError(f"{path}: unreadable, the file cannot be decoded ({e})") from None
    if record is None or "script" not in record:
        raise ReproduceError(f"{path}: carries no gencode render record to reproduce")
    source = record["script"]["source"]
    if len(source.encode()) > MAX_SOURCE:
        raise ReproduceError(f"the recorded script is {len(source.encode())} bytes; reproduce re-renders at most {MAX_SOURCE}")  # fmt: skip
    if sha256_text(source) != record["script"]["sha256"]:
        raise ReproduceError("the record was edited: its script's sha256 is not that of the script it holds")  # fmt: skip
    return record


def edits(record: dict, fresh: dict) -> list[str]:
    """Fields of the file's record that the recorded script does not produce (an edit)."""
    found = []
    for key in sorted(set(record) & set(fresh) - set(_CIRCUMSTANCE)):
        if record[key] != fresh[key]:
            found.append(f"{key} says {_show(record[key])}, the script makes {_show(fresh[key])}")
    return found


def parameters_edit(path: Path, record: dict) -> list[str]:
    """A PNG's `parameters` text that is not what its record gives (edited for other readers)."""
    from gencode.a1111 import infotext

    if path.suffix.lower() != ".png":
        return []
    from PIL import Image

    try:
        with Image.open(path) as img:
            text = getattr(img, "text", {}).get("parameters")
    except (OSError, SyntaxError, ValueError):
        return []
    if text is not None and text != infotext(record):
        return ["the `parameters` text differs from what the record gives (edited)"]
    return []


def _show(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def compare(a: np.ndarray, b: np.ndarray) -> tuple[int, float]:
    """Largest absolute difference and PSNR (dB, inf when equal) of two uint8 arrays."""
    d = a.astype(np.int16) - b.astype(np.int16)
    mse = float(np.mean(d.astype(np.float64) ** 2))
    return int(np.abs(d).max()), math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def env_diffs(record: dict, here: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Environment fields whose values differ between the record and this machine."""
    then = record.get("environment") or {}
    return [(k, str(then.get(k)), str(here.get(k))) for k in ENV_FIELDS if then.get(k) != here.get(k)]  # fmt: skip


def find_root(record: dict, file: Path, root: Path | None = None) -> Path:
    """The folder the script is re-rendered in: given on the command line; else the nearest
    folder from the file's own upwards that holds the recorded script (found by its content,
    never by a path the record names); else the file's folder."""
    if root is not None:
        return Path(root)
    here = file.resolve().parent
    for folder in [here, *list(here.parents)[:4]]:
        if any(sha256_text(_text(g)) == record["script"]["sha256"] for g in _scripts(folder)):
            return folder
    return here


def _scripts(folder: Path, limit: int = 200) -> list[Path]:
    """The .gen files in one folder (not below it), a bounded number."""
    try:
        return [p for p in sorted(folder.glob("*.gen"))[:limit] if p.is_file()]
    except OSError:
        return []


def _text(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_SOURCE:
            return ""
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def render_recorded(
    record: dict, file: Path, device: str, root: Path | None
) -> tuple[np.ndarray, dict[str, Any], dict]:
    """The recorded output's uint8 pixels re-rendered here, this machine's environment, and
    the record the re-render would carry."""
    from gencode.graph import Graph
    from gencode.render import executor_for, recorder
    from gencode.runtime.execute import RenderError
    from gencode.runtime.outputs import to_uint8

    script, out_rec = record["script"], record["output"]
    folder = find_root(record, file, root)
    loaded = _load(script, folder)
    graph = loaded.graph
    out = next((o for o in graph.outputs if o.node.key == out_rec["node"]), None)
    if out is None:
        raise ReproduceError(why_different(record, graph, folder, loaded.program.sources))
    _bound(out)
    then = record.get("environment") or {}
    bf16 = then.get("dtype") == "bfloat16"  # rendered with --bf16
    threads = then.get("threads") if isinstance(then.get("threads"), int) else None
    ex = executor_for(  # as recorded
        loaded.program, loaded.catalog, device, cpu_bf16=bf16, threads=threads
    )
    try:
        run = ex.run(Graph(graph.nodes, [out]), folder)
    except RenderError as e:
        raise ReproduceError(f"the re-render failed: {e}") from None
    px = to_uint8(run.values[out.name])
    if out.node.type == "image" and px.ndim == 4 and len(px) == 1:
        px = px[0]  # as the writer does for a still that arrived as a batch of one
    frame = out_rec.get("frame")
    if frame is not None:
        if px.ndim != 4 or frame >= len(px):
            raise ReproduceError(f"the record names frame {frame}, and the recorded output has {len(px) if px.ndim == 4 else 'no'} frames")  # fmt: skip
        px = px[frame]
    fresh = recorder(loaded, run.summary)(out, frame, px)
    return px, environment(run.summary.device, run.summary.dtype, run.summary.threads), fresh


def _load(script: dict, folder: Path):
    """The recorded script checked and compiled in `folder` (its name is for messages only)."""
    from gencode.check import check_text
    from gencode.compile import compile_program
    from gencode.errors import GenError
    from gencode.render import Script
    from gencode.runtime.models import RecordingCatalog

    catalog = RecordingCatalog()
    name = str(folder / PurePosixPath(script["file"]).name)
    try:
        program = check_text(script["source"], name, folder, script.get("sets"), catalog)
    except GenError as e:
        raise ReproduceError(f"the recorded script does not check here (in {folder}):\n{e}") from None  # fmt: skip
    return Script(program, compile_program(program), folder, None, catalog, dict(script.get("sets") or {}))  # fmt: skip


def _bound(out) -> None:
    """Refuse a recorded output whose graph is beyond any real render (a crafted record)."""
    seen, stack = set(), [out.node]
    while stack:
        n = stack.pop()
        if n.key in seen:
            continue
        seen.add(n.key)
        if len(seen) > MAX_NODES:
            raise ReproduceError(f"the recorded output depends on more than {MAX_NODES} graph nodes; not re-rendering it")  # fmt: skip
        stack.extend(n.inputs)


def why_different(record: dict, graph, folder: Path, sources: dict[str, str]) -> str:
    """Why the recorded node is not in the graph the script compiles to here."""
    from gencode.provenance.record import upstream

    here = {}
    for o in graph.outputs:
        for n in upstream(o.node):
            if isinstance(m := n.params.get("model"), dict):
                here[m["name"]] = m["sha256"]
            here.update(files_read(n.op, n.params))
    reasons = [
        f"{name}: sha256 {str(here[name])[:12]}… here, {sha[:12]}… in the record"
        for name, sha in [(m["name"], m["sha256"]) for m in record.get("models", [])]
        + [(str(i["file"]), str(i["sha256"])) for i in record.get("inputs", [])]
        if name in here and here[name] != sha
    ]
    for inc in record["script"].get("includes", []):
        text = sources.get(str((folder / inc["file"]).resolve()))
        if text is None or sha256_text(text) != inc["sha256"]:
            reasons.append(f"the included {inc['file']} is {'missing' if text is None else 'changed'}")  # fmt: skip
    text = "; ".join(reasons) or "gencode's ops changed since (a newer op version)"
    return f"the recorded node is not in what the script renders in {folder}: {text}"
