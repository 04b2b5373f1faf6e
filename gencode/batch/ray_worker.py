"""A Ray worker of a batch: (script text, plan, item, the files it reads) → the item's pixels, run
summary and environment. Nothing is written into the batch folder: the driver does that.

Files arrive by name (`script/REL` beside the script, `models/NAME...` named from GENCODE_MODELS)
and sha256. A worker that sees the driver's own file with that sha256 (the same machine, a shared
filesystem) uses it where it is; otherwise it asks for the bytes, which come through Ray's object
store, are hashed again, and are kept once per machine in a folder named by sha256, so every
worker there (and a replacement for one that died) finds them without another transfer.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gencode.batch.plan import Item
from gencode.batch.runner import BatchError, BatchSpec, load_item

# name → (sha256, the driver's path, an ObjectRef of the bytes or None until a worker asks)
Files = dict[str, tuple[str, str, Any]]


@dataclass
class Rendered:
    """What a worker sends back for one item."""

    keys: list[str]  # the graph's output keys: the driver's graph must be the same
    pixels: dict[str, Any]  # output name → uint8 (H, W, 3) or (N, H, W, 3), as to_uint8 gives
    summary: Any  # RunSummary
    env: dict[str, str]  # where the pixels were computed (the record's `environment`)
    host: str


@dataclass
class Need:
    """The files a worker has no copy of: the driver sends their bytes and the item again."""

    names: list[str]


class Worker:
    """A Ray actor's body: one Executor for every item it renders (models load once)."""

    def __init__(self, spec: BatchSpec, text: str, binding: str | None, home: str, threads: int):
        from gencode.runtime.device import set_default_threads

        set_default_threads(threads)  # every Executor this worker makes renders with them
        self.spec, self.text, self.binding = spec, text, binding
        self.home = Path(home)  # the script's folder on the driver's machine
        self.store = self.store_dir()
        self._work: Path | None = None  # made when a file must be placed (see `work`)
        self.placed: dict[str, str] = {}  # name in self.work → sha256 of what is there
        self.executor: Any = None

    def ready(self) -> str:
        return socket.gethostname()

    def render(self, item: Item, files: Files) -> Rendered | Need:
        """Check, compile and render one item (write=False): its pixels and its record's facts."""
        from gencode.provenance.record import environment
        from gencode.render import executor_for, render
        from gencode.runtime.outputs import to_uint8

        need = [n for n, (sha, path, ref) in files.items() if ref is None and not self._has(sha, path)]  # fmt: skip
        if need:
            return Need(need)
        root, models = self._place(files)
        script = load_item(self.spec, self.text, self.binding, item, root, models)
        if self.executor is None:
            self.executor = executor_for(
                script.program, script.catalog, self.spec.device, cpu_bf16=self.spec.cpu_bf16
            )
        run = render(script, write=False, executor=self.executor)
        pixels = {name: to_uint8(v) for name, v in run.values.items()}
        env = environment(run.summary.device, run.summary.dtype, run.summary.threads)
        keys = [o.node.key for o in script.graph.outputs]
        return Rendered(keys, pixels, run.summary, env, socket.gethostname())

    def close(self) -> None:
        if self._work is not None:
            shutil.rmtree(self._work, ignore_errors=True)

    # ---- files ---------------------------------------------------------------------------------

    @staticmethod
    def store_dir() -> Path:
        """This machine's copies of files sent to workers, named by sha256 (kept between batches:
        delete the folder to reclaim the space)."""
        return Path(tempfile.gettempdir()) / f"gencode-ray-files-{getpass.getuser()}"

    def visible(self, sha: str, path: str) -> bool:
        """Whether the driver's file is here too, unchanged (one machine, or a shared disk)."""
        from gencode.models.checkpoint import file_sha256

        p = Path(path)
        return p.is_file() and file_sha256(p) == sha  # hashed once per file: check reads it too

    @property
    def work(self) -> Path:
        """This worker's folder of links to what arrived (none on the driver's own machine)."""
        if self._work is None:
            self._work = Path(tempfile.mkdtemp(prefix="gencode-ray-"))
            (self._work / "script").mkdir()
        return self._work

    def _has(self, sha: str, path: str) -> bool:
        return (self.store / sha).is_file() or self.visible(sha, path)

    def _place(self, files: Files) -> tuple[Path, list[Path]]:
        """The folders to check the item in: the driver's own script folder when every file it
        reads is visible there, else a private copy; named models always by link."""
        beside = {n: f for n, f in files.items() if n.startswith("script/")}
        own = self.home.is_dir() and all(self.visible(sha, p) for sha, p, _ in beside.values())
        for name, (sha, path, ref) in files.items():
            if self.placed.get(name) == sha or (own and name in beside):
                continue
            target = self.work / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.unlink(missing_ok=True)
            source = Path(path) if self.visible(sha, path) else self._fetch(sha, ref)
            if name in beside:  # a real file: scripts may not read through links
                _link_or_copy(source, target)
            else:
                target.symlink_to(source.resolve())
            self.placed[name] = sha
        root = self.home if own else self.work / "script"
        return root, [self.work / "models"] if any(n.startswith("models/") for n in files) else []

    def _fetch(self, sha: str, ref: Any) -> Path:
        """The file with this sha256 in this machine's store, received once."""
        import ray

        path = self.store / sha
        if path.is_file():
            return path
        data = ray.get(ref)
        if hashlib.sha256(data).hexdigest() != sha:
            raise BatchError(f"a file sent to {socket.gethostname()} arrived damaged ({sha[:12]}…)")
        self.store.mkdir(mode=0o700, parents=True, exist_ok=True)
        part = path.with_name(f".{sha}.{os.getpid()}.part")
        part.write_bytes(data)
        os.replace(part, path)  # whole or absent: another worker may be writing it too
        return path


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # another filesystem
        shutil.copyfile(source, target)
