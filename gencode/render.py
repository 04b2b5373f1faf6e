"""The library call: a .gen script (file or text) → rendered images, written and returned.

    import gencode
    result = gencode.render("sketches/card.gen", out_dir="out")
    result.images("diffuse-dunes")[0]        # a PIL image, for notebooks
    result.array("interpolate").shape        # (24, 32, 32, 3) uint8

check → compile → execute → write outputs; front-end errors raise `GenError`, runtime ones
`RenderError`; a render stopped by Ctrl-C writes nothing half-way (files are written atomically,
after every value has been computed).
"""

from __future__ import annotations

import os
import sys
import threading
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gencode.check import check_file, check_text
from gencode.compile import compile_program
from gencode.errors import Diagnostic, GenError
from gencode.graph import Graph
from gencode.ir import CheckedProgram
from gencode.runtime.device import DeviceError
from gencode.runtime.execute import Executor, RenderError, RunSummary
from gencode.runtime.models import RecordingCatalog

__all__ = ["render", "load_script", "Script", "RenderResult", "RenderError", "default_out_dir"]


@dataclass
class RenderResult:
    """What a render made: output values by name, the files written, and a summary."""

    graph: Graph
    values: dict[str, Any]  # output name → tensor: image (3, H, W) or frames (N, 3, H, W) in [0, 1]
    summary: RunSummary
    program: CheckedProgram
    out_dir: Path | None = None
    written: list[Path] = field(default_factory=list)
    swept: list[Path] = field(default_factory=list)  # temp files of killed writes, removed

    @property
    def names(self) -> list[str]:
        return [o.name for o in self.graph.outputs]

    def array(self, name: str | None = None) -> np.ndarray:
        """An output as uint8 pixels: (H, W, 3) for a still, (N, H, W, 3) for a sequence."""
        x = self.values[name or self.names[0]].detach().float().cpu().clamp(0, 1)
        return (x * 255).round().byte().movedim(-3, -1).numpy()

    def images(self, name: str | None = None) -> list[Any]:
        """An output as PIL images (one for a still, one per frame for a sequence)."""
        from PIL import Image

        a = self.array(name)
        return [Image.fromarray(f) for f in (a[None] if a.ndim == 3 else a)]


@dataclass
class Script:
    """A checked and compiled script, ready to render (the CLI shows its notes first)."""

    program: CheckedProgram
    graph: Graph
    root: Path  # the folder it reads models and images from
    path: Path | None  # None for script text
    catalog: RecordingCatalog
    sets: dict[str, str] = field(default_factory=dict)  # the `--set` values, for records


def load_script(path_or_text: str | os.PathLike[str], sets: dict[str, str] | None = None) -> Script:
    """Check and compile a script file (or script text); raises GenError with every error."""
    catalog = RecordingCatalog()
    path = _script_path(path_or_text)
    if path is not None:
        program = check_file(path, sets, catalog)
        root = path.resolve().parent
    else:
        root = Path.cwd()
        program = check_text(str(path_or_text), "<script>", root, sets, catalog)
    from gencode.signals.audio import track_signals  # `audio "x.wav"`: as the stream reads it

    graph = compile_program(program, signals=track_signals(root, program.audio))
    return Script(program, graph, root, path, catalog, dict(sets or {}))


def render(
    script: Script | str | os.PathLike[str],
    out_dir: str | os.PathLike[str] | None = None,
    sets: dict[str, str] | None = None,
    device: str = "auto",
    cache: str | os.PathLike[str] | None = None,
    executor: Executor | None = None,
    write: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
    cancel: threading.Event | None = None,
    signer: Callable[[dict], dict] | None = None,
    cpu_bf16: bool = False,
    threads: int | None = None,
    notice: Callable[[str], None] | None = None,
) -> RenderResult:
    """Render a script (a .gen path, its text, or a loaded Script) and write its outputs, each
    carrying its provenance record (signed by `signer`, a `gencode.provenance.signing.Signer`).
    `threads`: torch CPU threads (default `runtime.device.DEFAULT_THREADS`), recorded per file."""
    if not isinstance(script, Script):
        script = load_script(script, sets)
    if executor is not None and threads is not None and threads != executor.threads:
        raise ValueError(
            f"threads={threads} but the executor given renders with {executor.threads}"
        )
    if executor is None:
        executor = executor_for(
            script.program, script.catalog, device, cpu_bf16=cpu_bf16, threads=threads,
            disk_cache=cache,
        )  # fmt: skip
    folder = Path(out_dir) if out_dir is not None else default_out_dir(script.path)
    swept = _prepare(folder) if write else []  # before the render: a bad -o fails at once
    executor.add_models(script.catalog.resolved)
    run = executor.run(script.graph, script.root, progress=progress, cancel=cancel, notice=notice)
    result = RenderResult(script.graph, run.values, run.summary, script.program, swept=swept)
    if write:
        result.out_dir = folder
        records = recorder(script, run.summary, signer)
        result.written = _write(script.graph, run.values, result.out_dir, records, script.root)
    return result


def executor_for(
    program: CheckedProgram, catalog: RecordingCatalog, device: str = "auto", **options: Any
) -> Executor:
    """The pipeline loader: an executor for a checked program, on `device` (auto: the script's
    `device` line, else the best there is), knowing where the checker found each model (the
    `catalog` that checked it). `options` go to `Executor` (cpu_bf16, threads, disk_cache,
    cache_bytes, chunk). Every entry point builds its executor here: render, watch, batch, Ray,
    reproduce, the live engine and its replay."""
    chosen = device if device != "auto" else program.device
    try:
        executor = Executor(chosen, catalog=catalog, **options)
    except DeviceError as e:  # the script's `device` line asked for it: point there
        span = program.device_span if device == "auto" else None
        if span is None:
            raise
        raise GenError([Diagnostic("error", str(e), span)], program.sources) from None
    executor.add_models(catalog.resolved)
    return executor


def _prepare(out_dir: Path) -> list[Path]:
    """Refuse an output folder that can't be made (under a file, read-only) before rendering;
    remove the temp files killed writes left in an existing one."""
    from gencode.runtime.atomic import sweep_temp_files

    base = next((p for p in [out_dir, *out_dir.parents] if p.exists()), Path("."))
    if not base.is_dir():
        raise RenderError(f"can't write to the output folder {out_dir}: {base} is a file, not a folder")  # fmt: skip
    if not os.access(base, os.W_OK | os.X_OK):
        raise RenderError(f"can't write to the output folder {out_dir}: {base} is not writable")
    try:
        return sweep_temp_files(out_dir) if base == out_dir else []
    except OSError as e:
        raise RenderError(f"can't clean the output folder {out_dir} ({e.strerror or e})") from None


def default_out_dir(script: Path | None) -> Path:
    """`out/<script name>` under the working folder: renders of two scripts never collide."""
    return Path("out") / (script.stem if script is not None else "script")


def _script_path(path_or_text: str | os.PathLike[str]) -> Path | None:
    """The script file meant, or None when the argument is script text."""
    if isinstance(path_or_text, os.PathLike):
        return Path(path_or_text)
    text = str(path_or_text)
    if "\n" in text or ";" in text or '"' in text:
        return None
    return Path(text) if text.endswith(".gen") or Path(text).is_file() else None


def recorder(
    script: Script,
    summary: RunSummary,
    signer: Callable[[dict], dict] | None = None,
    extra: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
) -> Callable[..., dict]:
    """The records hook for `write_outputs`: one provenance record per file written; `env` is
    where the pixels were computed (default: this machine, on the summary's device)."""
    from gencode.provenance import record as R

    p = script.program
    section = R.script_section(p.files, p.sources, script.sets, p.params)
    env = env or R.environment(summary.device, summary.dtype, summary.threads)
    return R.Recorder(section, env, signer, extra, R.now())


def _write(
    graph: Graph,
    values: dict[str, Any],
    out_dir: Path,
    records: Callable[..., dict] | None = None,
    root_dir: Path | None = None,
) -> list[Path]:
    """Every output written under out_dir (each file atomically, with its record)."""
    from gencode.runtime.outputs import OutputError, write_outputs

    try:
        return write_outputs(graph, values, out_dir, records, sidecars=True, root_dir=root_dir)
    except OutputError as e:
        raise RenderError(str(e)) from None
    except OSError as e:  # a full disk: the files already there stay whole (atomic writes)
        where = e.filename or out_dir
        raise RenderError(f"can't write {where} ({e.strerror or e}); no file was left half-written") from None  # fmt: skip


class _CallableModule(types.ModuleType):
    """This module, callable: importing `gencode.render` binds the package attribute `render`
    to the module, so `gencode.render(...)` must work whichever of the two it finds."""

    def __call__(self, *args: Any, **kwargs: Any) -> RenderResult:
        return render(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
