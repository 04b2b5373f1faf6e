"""Running a batch: a script and its items → files under DIR/<item>/, catalog rows, a manifest.

Resumable: the folder is locked (one batch at a time), temp files a kill left behind are swept,
finished items are skipped, items whose files were lost are rendered again, and the rest
rendered; each item's files are written atomically before its catalog rows are committed. The
manifest ("finished") is written last, only when every item of the folder's batch is done, and
never smaller than the one it replaces.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gencode.batch.catalog import CATALOG_NAME, Catalog, Row
from gencode.batch.grid import GRID_NAME, contact_sheet
from gencode.batch.lock import LOCK_NAME, FolderLock, LockedError
from gencode.batch.plan import Item, PlanError, plan, seed_param
from gencode.graph import canonical
from gencode.runtime.atomic import sweep_temp_files, write_bytes_atomic

MANIFEST_NAME = "manifest.json"
MANIFEST_SCHEMA = "gencode.batch/1"


class BatchError(Exception):
    """The batch can't run: a bad plan, or a folder holding another batch."""


@dataclass
class BatchSpec:
    """What to render: a script over seeds and sweeps, into a folder."""

    script: Path
    out_dir: Path
    seeds: list[int] | None = None
    sweeps: list[tuple[str, list[str]]] = field(default_factory=list)
    sets: dict[str, str] = field(default_factory=dict)  # fixed `--set` values
    seed_param: str | None = None  # the param a seed goes to (found from `seed NAME` if None)
    device: str = "auto"
    sign: Callable[[dict], dict] | None = None  # a Signer
    c2pa: Any = None  # gencode.provenance.c2pa.Credentials, to embed C2PA credentials too
    grid: bool = False
    progress: bool = True
    ray: str | None = None  # a Ray address ("local", "auto", "ray://host:10001"): render there
    ray_workers: int | None = None  # Ray actors (None: as many as the cluster has room for)
    threads: int | None = None  # torch threads per Ray worker, and the CPUs it reserves (None: 1)
    cpu_bf16: bool = False  # bfloat16 networks on the CPU (here and on Ray workers)


@dataclass
class BatchResult:
    """What a run did: items in the plan, rendered now, skipped as already done."""

    items: int
    rendered: int
    skipped: int
    outputs: int
    swept: list[Path]
    manifest: Path | None  # None: items of an earlier, larger run are still unfinished
    grid: Path | None
    seconds: float
    unfinished: list[str] = field(default_factory=list)  # those items
    restored: list[str] = field(
        default_factory=list
    )  # finished items whose lost files were re-rendered


def run_batch(spec: BatchSpec) -> BatchResult:
    """Render every unfinished item of the plan, then the grid and the manifest."""
    t0 = time.perf_counter()
    if spec.ray is not None:
        from gencode.batch.ray_runner import require_ray

        require_ray(spec.ray)  # before anything is read or written
    text = _read(spec.script)
    items = plan(spec.seeds, spec.sweeps)
    binding = spec.seed_param or (seed_param(text, str(spec.script)) if spec.seeds else None)
    _check_plan(spec, text, binding, items)  # before the folder exists: a typo leaves nothing
    out = Path(spec.out_dir)
    _make_folder(out)
    try:
        with FolderLock(out):
            return _run_locked(spec, text, binding, items, t0)
    except LockedError as e:
        raise BatchError(str(e)) from None
    except OSError as e:  # a full disk, a folder made read-only: no traceback, files intact
        raise BatchError(f"{out}: can't write the batch ({e.strerror or e}); finished items are kept") from None  # fmt: skip


def _make_folder(out: Path) -> None:
    """The batch folder, made if needed; refused when it holds something else or can't be."""
    others = out.is_dir() and any(p.name != LOCK_NAME for p in out.iterdir())
    if others and not (out / CATALOG_NAME).is_file() and (out / MANIFEST_NAME).is_file():
        raise BatchError(f"{out}: the batch's catalog ({CATALOG_NAME}) is missing, so it can't be resumed; `gencode verify {out}` checks what is left")  # fmt: skip
    if others and not (out / CATALOG_NAME).is_file():
        raise BatchError(f"{out} holds other files and no batch catalog; use a new folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BatchError(f"{out}: can't make the batch folder there ({e.strerror or e})") from None


def _run_locked(spec: BatchSpec, text: str, binding: str | None, items: list[Item], t0: float) -> BatchResult:  # fmt: skip
    out = Path(spec.out_dir)
    swept = sweep_temp_files(out)
    with Catalog.open(out, create=True) as cat:
        _claim(cat, spec, text)
        cat.add_items([(i.name, i.seed, i.sweep) for i in items])
        restored = cat.damaged_items(out)  # files deleted since: render those items again
        cat.reopen(restored)
        done = cat.done_items()
        todo = [i for i in items if i.name not in done]
        if todo:
            render_all = _render_all
            if spec.ray is not None:
                from gencode.batch.ray_runner import render_on_ray as render_all
            render_all(spec, text, binding, todo, len(items), cat)
        unfinished = cat.pending_items()
        grid = manifest = None
        if not unfinished:  # a smaller re-run leaves the earlier items unfinished: no manifest
            # A grid from an earlier run is kept up to date rather than left stale.
            again = spec.grid or (out / GRID_NAME).is_file()
            grid = contact_sheet(out, cat.rows(), spec.sign) if again else None
            manifest = _manifest(spec, text, cat, grid)
        outputs = len(cat.rows())
    took = time.perf_counter() - t0
    return BatchResult(len(items), len(todo), len(items) - len(todo), outputs, swept, manifest,
                       grid, took, unfinished, restored)  # fmt: skip


def _read(script: Path) -> str:
    try:
        return Path(script).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise BatchError(f"{script}: can't read script ({e})") from None


def _claim(cat: Catalog, spec: BatchSpec, text: str) -> None:
    """Mark the folder as this script's batch, or refuse one that holds another's."""
    mine = {
        "script_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "sets": spec.sets,
        "bf16": spec.cpu_bf16,
        "c2pa": spec.c2pa is not None,  # a batch signed with C2PA stays signed
    }
    theirs = cat.meta()
    seen = {k: theirs.get(k, False if k in ("bf16", "c2pa") else None) for k in mine}  # older: no flags  # fmt: skip
    if theirs and seen != mine and not cat.done_items():
        cat.clear()  # nothing finished yet: the folder is free to take the edited script
    elif theirs and seen != mine:
        raise BatchError(
            f"{spec.out_dir} holds a batch made with {_difference(seen, mine)}; "
            "render into a new folder (a batch folder belongs to one script and its options)"
        )
    cat.set_meta(mine | {"script": Path(spec.script).name})


def _difference(seen: dict, mine: dict) -> str:
    """What the folder's batch was made with that this run lacks, in words."""
    if seen["script_sha256"] != mine["script_sha256"]:
        return "another script"
    if seen["sets"] != mine["sets"]:
        return "other --set values"
    if seen["c2pa"] != mine["c2pa"]:
        return "C2PA credentials (give --c2pa-cert and --c2pa-key)" if seen["c2pa"] else "no C2PA credentials"  # fmt: skip
    return "--bf16" if seen["bf16"] else "float32 networks (no --bf16)"


# ---- items -------------------------------------------------------------------------------------


def load_item(
    spec: BatchSpec,
    text: str,
    binding: str | None,
    item: Item,
    root: Path | None = None,
    models: list[Path] | None = None,
):
    """Check and compile the script with the item's seed and sweep values; its includes, images
    and model files are read from `root` (default: the script's folder), named models from the
    folders `models` (default: GENCODE_MODELS)."""
    from gencode.check import check_text
    from gencode.compile import compile_program
    from gencode.render import Script
    from gencode.runtime.models import RecordingCatalog

    sets = {**spec.sets, **item.sweep}
    if item.seed is not None and binding:
        sets[binding] = str(item.seed)
    elif item.seed is not None:
        text = f"seed {item.seed}; {text}"  # on line 1, so error lines stay where they were
    catalog = RecordingCatalog(search=models)
    root = root or Path(spec.script).resolve().parent
    program = check_text(text, str(spec.script), root, sets, catalog)
    return Script(program, compile_program(program), root, Path(spec.script), catalog, sets)


def _check_plan(spec: BatchSpec, text: str, binding: str | None, items: list[Item]) -> None:
    """Refuse sweeps of names that are no params, and seeds that change nothing."""
    first = load_item(spec, text, binding, items[0])
    params = set(first.program.params)
    unknown = [n for n, _ in spec.sweeps if n not in params] + (
        [binding] if binding and binding not in params else []
    )
    if unknown:
        known = ", ".join(sorted(params)) or "none"
        raise BatchError(f"{spec.script} has no param {', '.join(unknown)} (params: {known})")
    other = next((i for i in items if i.seed != items[0].seed and i.sweep == items[0].sweep), None)
    if other is not None:
        keys = [o.node.key for o in first.graph.outputs]
        if keys == [o.node.key for o in load_item(spec, text, binding, other).graph.outputs]:
            raise PlanError(f"--seeds changes nothing that {spec.script} outputs")


def progress_bar(spec: BatchSpec, total: int, todo: int):
    """The batch's progress bar (items done, rate, time left) on stderr; hidden with -q."""
    from tqdm import tqdm

    return tqdm(total=total, initial=total - todo, unit="item", desc="batch", file=sys.stderr,
                disable=None if spec.progress else True, dynamic_ncols=True)  # fmt: skip


def _render_all(
    spec: BatchSpec, text: str, binding: str | None, todo: list[Item], total: int, cat: Catalog
) -> None:
    """Render the items in order, one catalog commit each, with a progress bar and ETA."""
    from gencode.render import executor_for, render

    executor = None
    with progress_bar(spec, total, len(todo)) as bar:
        for item in todo:
            script = load_item(spec, text, binding, item)
            if executor is None:  # one executor: models load once, shared nodes are cached
                executor = executor_for(
                    script.program, script.catalog, spec.device, cpu_bf16=spec.cpu_bf16
                )
            run = render(script, write=False, executor=executor)
            cat.finish_item(item.name, write_item(spec, script, item, run.values, run.summary))
            bar.update(1)


def write_item(
    spec: BatchSpec, script, item: Item, values: dict, summary, env: dict | None = None
) -> list[Row]:
    """Write one rendered item into its folder; its catalog rows, from the records written.
    `env` is where the pixels were computed (default: here, on `summary`'s device)."""
    from gencode.render import recorder
    from gencode.runtime.outputs import OutputError, write_outputs

    extra = {"batch": {"item": item.name, "seed": item.seed, "sweep": item.sweep}}
    make = recorder(script, summary, spec.sign, extra, env)
    records: list[dict] = []

    def keep(out, frame, pixels, decoded=None) -> dict:
        records.append(make(out, frame, pixels, decoded))
        return records[-1]

    try:
        folder = Path(spec.out_dir) / item.name
        write_outputs(script.graph, values, folder, keep, sidecars=True, root_dir=script.root)
    except OutputError as e:
        raise BatchError(f"{item.name}: {e}") from None
    if spec.c2pa is not None:
        from gencode.provenance.c2pa import embed_all

        # Before the commit: a finished item has its credentials, a failed one no files.
        paths = [Path(spec.out_dir) / item.name / r["output"]["file"] for r in records]
        embed_all(paths, records, spec.c2pa)
    return [
        Row(f"{item.name}/{r['output']['file']}", item.name, item.seed, item.sweep,
            r["pixels"]["sha256"], canonical(r))
        for r in records
    ]  # fmt: skip


# ---- the manifest ------------------------------------------------------------------------------


def outputs_digest(rows: list[Row]) -> str:
    """One hash over every (path, pixel hash) pair: a row removed from the catalog shows."""
    lines = "".join(f"{r.path}\t{r.pixel_sha256}\n" for r in sorted(rows, key=lambda r: r.path))
    return hashlib.sha256(lines.encode()).hexdigest()


def _manifest(spec: BatchSpec, text: str, cat: Catalog, grid: Path | None) -> Path:
    """The last file written: what the batch holds, signed when the records are."""
    from gencode.provenance.record import now

    rows = cat.rows()
    path = Path(spec.out_dir) / MANIFEST_NAME
    before = read_manifest(Path(spec.out_dir))
    if before and (len(rows) < _count(before, "outputs") or cat.item_count() < _count(before, "items")):  # fmt: skip
        raise BatchError(
            f"{spec.out_dir}: the batch held {before.get('outputs')} files in {before.get('items')} items "
            f"when it finished, the catalog now {len(rows)} in {cat.item_count()}; not replacing its "
            "manifest with a smaller one (`gencode verify` names what is missing)"
        )
    doc = {
        "schema": MANIFEST_SCHEMA,
        "created": now(),
        "script": {"file": Path(spec.script).name, "sha256": hashlib.sha256(text.encode()).hexdigest()},
        "sets": spec.sets,
        "items": cat.item_count(),
        "outputs": len(rows),
        "outputs_sha256": outputs_digest(rows),
        "catalog": CATALOG_NAME,
        "grid": grid.name if grid else None,
        "c2pa": bool(cat.meta().get("c2pa")),
    }  # fmt: skip
    if spec.sign:
        doc = spec.sign(doc)
    return write_bytes_atomic(path, (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode())


def read_manifest(folder: Path) -> dict | None:
    """A batch folder's manifest, or None when there is none; BatchError when it is unreadable."""
    path = Path(folder) / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as e:
        raise BatchError(f"{path}: unreadable ({e})") from None
    if not isinstance(doc, dict):
        raise BatchError(f"{path}: not a batch manifest")
    return doc


def _count(doc: dict, key: str) -> int:
    value = doc.get(key)
    return value if isinstance(value, int) else 0


__all__ = ["BatchSpec", "BatchResult", "BatchError", "run_batch", "GRID_NAME", "MANIFEST_NAME"]
