"""Reproduce: a file's record → the recorded node re-rendered from the embedded script, compared.

The script source and `--set` values come from the record; models, images and includes are read
from the script's folder (found beside the file or in the working folder, or given as `root`)
and must have the recorded sha256. On the same device and versions the pixels match exactly;
otherwise the comparison gives the largest difference, the PSNR and which environment fields
differ from the record's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from gencode.provenance.pixels import UnreadableImage, as_written, decode_file, pixel_sha256
from gencode.provenance.record import ENV_FIELDS, environment, is_record, sha256_text


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

    @property
    def ok(self) -> bool:
        return self.exact and self.file_intact


def reproduce(path: Path, device: str = "auto", root: Path | None = None) -> Outcome:
    """Re-render the node recorded in `path` and compare it with the record and the file."""
    from gencode.runtime.outputs import read_record

    try:
        record = read_record(Path(path))
    except Exception as e:  # noqa: BLE001 — any decoder failure means no record to read
        raise ReproduceError(f"{path}: unreadable ({e})") from None
    if not is_record(record) or "script" not in (record or {}):
        raise ReproduceError(f"{path}: carries no gencode render record to reproduce")
    assert record is not None
    pixels, env = render_recorded(record, Path(path), device, root)
    suffix = PurePosixPath(record["output"]["file"]).suffix or Path(path).suffix
    fresh = as_written(pixels, suffix, record["output"].get("fps") or 10.0)
    want = record["pixels"]["sha256"]
    outcome = Outcome(pixel_sha256(fresh) == want, False, env_diffs=env_diffs(record, env))
    try:
        on_file = decode_file(Path(path))
    except UnreadableImage:
        return outcome
    outcome.file_intact = pixel_sha256(on_file) == want
    if on_file.shape == fresh.shape:
        outcome.max_diff, outcome.psnr = compare(fresh, on_file)
    else:
        outcome.max_diff, outcome.psnr = 255, 0.0
    return outcome


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
    """The folder the script was rendered from: given, or where a file of its name is found."""
    if root is not None:
        return Path(root)
    name = Path(record["script"]["file"])
    places = ([name.parent] if not name.is_absolute() else []) + list(file.resolve().parents)[:4]
    places.append(Path.cwd())
    here = [d for d in places if (d / name.name).is_file()]
    same = [d for d in here if sha256_text(_text(d / name.name)) == record["script"]["sha256"]]
    return (same or here or [Path.cwd()])[0]


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def render_recorded(
    record: dict, file: Path, device: str, root: Path | None
) -> tuple[np.ndarray, dict[str, Any]]:
    """The recorded output's uint8 pixels re-rendered here, and this machine's environment."""
    from gencode.check import check_text
    from gencode.compile import compile_program
    from gencode.errors import GenError
    from gencode.graph import Graph
    from gencode.runtime.execute import Executor, RenderError
    from gencode.runtime.models import RecordingCatalog
    from gencode.runtime.outputs import to_uint8

    script, out_rec = record["script"], record["output"]
    folder = find_root(record, file, root)
    catalog = RecordingCatalog()
    try:
        program = check_text(script["source"], script["file"], folder, script.get("sets"), catalog)
    except GenError as e:
        raise ReproduceError(
            f"the recorded script does not check here (in {folder}):\n{e}"
        ) from None
    graph = compile_program(program)
    out = next((o for o in graph.outputs if o.node.key == out_rec["node"]), None)
    if out is None:
        raise ReproduceError(why_different(record, graph, folder, program.sources))
    then = record.get("environment") or {}
    bf16 = then.get("dtype") == "bfloat16"  # rendered with --bf16
    threads = then.get("threads") if isinstance(then.get("threads"), int) else None
    chosen = device if device != "auto" else program.device
    ex = Executor(chosen, cpu_bf16=bf16, catalog=catalog, threads=threads)  # as recorded
    ex.add_models(catalog.resolved)
    try:
        run = ex.run(Graph(graph.nodes, [out]), folder)
    except RenderError as e:
        raise ReproduceError(f"the re-render failed: {e}") from None
    px = to_uint8(run.values[out.name])
    if out.node.type == "image" and px.ndim == 4 and len(px) == 1:
        px = px[0]  # as the writer does for a still that arrived as a batch of one
    if out_rec.get("frame") is not None:
        px = px[out_rec["frame"]]
    return px, environment(run.summary.device, run.summary.dtype, run.summary.threads)


def why_different(record: dict, graph, folder: Path, sources: dict[str, str]) -> str:
    """Why the recorded node is not in the graph the script compiles to here."""
    from gencode.provenance.record import upstream

    here = {}
    for o in graph.outputs:
        for n in upstream(o.node):
            if isinstance(m := n.params.get("model"), dict):
                here[m["name"]] = m["sha256"]
            if n.op == "load":
                here[str(n.params.get("path"))] = n.params.get("sha256")
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
