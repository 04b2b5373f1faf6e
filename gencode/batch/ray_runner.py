"""Running a batch on Ray: the items still to render → Ray actors that render them → files,
catalog rows and the manifest, written here by the driver exactly as the single-machine runner
writes them (`runner.write_item`), so every guarantee of a batch folder holds unchanged.

Workers are actors, each holding one long-lived Executor (models load once per worker). A worker
gets the script text and the plan once, then per item the item and the files it reads (models,
includes, images, by path relative to the script's folder and sha256); it checks and compiles
the item in a private folder, renders it and sends back uint8 pixels, the run summary and its
environment. No filesystem is shared: a file travels through Ray's object store once per sha256
and is hashed again on arrival. Built-in models ship with gencode on every machine.

Ray is imported only here, and only when a batch is given `--ray`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import socket
import sys
import tempfile
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gencode.batch.catalog import Catalog
from gencode.batch.plan import Item
from gencode.batch.runner import BatchError, BatchSpec, load_item, progress_bar, write_item

MISSING = "--ray needs Ray: pip install 'gencode[ray]'"
PER_WORKER = 2  # items in flight per worker: one rendering, the next waiting, none idle
TRIES = 3  # times an item is sent out again after its worker died, before the batch stops


def require_ray() -> Any:
    """The ray module, or a BatchError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise BatchError(MISSING) from None
    return ray


@dataclass
class Rendered:
    """What a worker sends back for one item."""

    keys: list[str]  # the graph's output keys: the driver's graph must be the same
    pixels: dict[str, Any]  # output name → uint8 (H, W, 3) or (N, H, W, 3), as to_uint8 gives
    summary: Any  # RunSummary
    env: dict[str, str]  # where the pixels were computed (the record's `environment`)
    host: str


class Worker:
    """A Ray actor's body: one Executor for every item it renders, in a private folder."""

    def __init__(self, spec: BatchSpec, text: str, binding: str | None, threads: int):
        import torch

        torch.set_num_threads(threads)
        self.spec, self.text, self.binding = spec, text, binding
        self.root = Path(tempfile.mkdtemp(prefix="gencode-ray-"))
        (self.root / "script").mkdir()
        self.have: dict[str, str] = {}  # path in self.root → sha256 of what is there
        self.executor: Any = None

    def ready(self) -> str:
        return socket.gethostname()

    def render(self, item: Item, files: dict[str, tuple[str, Any]]) -> Rendered:
        """Check, compile and render one item (write=False): its pixels and its record's facts."""
        from gencode.provenance.record import environment
        from gencode.render import render
        from gencode.runtime.execute import Executor
        from gencode.runtime.outputs import to_uint8

        self._receive(files)
        root, models = self.root / "script", [self.root / "models"]
        script = load_item(self.spec, self.text, self.binding, item, root, models)
        if self.executor is None:
            device = self.spec.device
            device = device if device != "auto" else script.program.device
            self.executor = Executor(device=device, catalog=script.catalog)
        run = render(script, write=False, executor=self.executor)
        pixels = {name: to_uint8(v) for name, v in run.values.items()}
        env = environment(run.summary.device, run.summary.dtype)
        keys = [o.node.key for o in script.graph.outputs]
        return Rendered(keys, pixels, run.summary, env, socket.gethostname())

    def _receive(self, files: dict[str, tuple[str, Any]]) -> None:
        """Put each file the item reads in place (see `needs`), fetched when new or changed."""
        import ray

        for rel, (sha, ref) in files.items():
            if self.have.get(rel) == sha:
                continue
            data = ray.get(ref)
            if hashlib.sha256(data).hexdigest() != sha:
                raise BatchError(f"{rel}: arrived damaged (its sha256 is not {sha[:12]}…)")
            path = self.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.part")
            tmp.write_bytes(data)
            os.replace(tmp, path)
            self.have[rel] = sha

    def close(self) -> None:
        import shutil

        shutil.rmtree(self.root, ignore_errors=True)


# ---- the driver --------------------------------------------------------------------------------


def render_on_ray(
    spec: BatchSpec, text: str, binding: str | None, todo: list[Item], total: int, cat: Catalog
) -> None:
    """Render the items on Ray workers, writing each here as it comes back (any order)."""
    ray = require_ray()
    started = not ray.is_initialized()
    if started:
        _connect(ray, spec.ray)
    first = load_item(spec, text, binding, todo[0])
    device = spec.device if spec.device != "auto" else first.program.device
    pool = Pool(ray, spec, text, binding, device)
    try:
        with progress_bar(spec, total, len(todo)) as bar:
            Driver(ray, pool, spec, text, binding, cat, bar).run(todo)
    finally:
        pool.close()
        if started:
            ray.shutdown()


def _connect(ray: Any, address: str | None) -> None:
    """`local`: a Ray instance on this machine; anything else is an address ray.init takes."""
    import logging

    try:
        if address in (None, "local"):
            ray.init(logging_level=logging.WARNING)
        else:
            ray.init(address=address, logging_level=logging.WARNING)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise BatchError(f"--ray {address}: can't connect ({str(e).splitlines()[0]})") from None


class Files:
    """The files an item reads, each put in Ray's object store once (keyed by sha256)."""

    def __init__(self, ray: Any):
        self.ray = ray
        self.refs: dict[str, Any] = {}  # sha256 → ObjectRef of the bytes

    def of(self, script) -> dict[str, tuple[str, Any]]:
        """Where a worker puts each file (see `needs`) → (sha256, ObjectRef), for one item."""
        from gencode.models.checkpoint import file_sha256

        out = {}
        for name, path in needs(script).items():
            sha = file_sha256(path)
            if sha not in self.refs:
                data = path.read_bytes()
                sha = hashlib.sha256(data).hexdigest()  # what is sent, even if it just changed
                self.refs[sha] = self.ray.put(data)
            out[name] = (sha, self.refs[sha])
        return out


def needs(script) -> dict[str, Path]:
    """The files checking and rendering an item read, by where a worker puts them: `script/REL`
    (includes, images, checkpoints beside the script) or `models/NAME...` (a model named from
    GENCODE_MODELS); a model folder as all its files. Built-in models stay: workers have them."""
    from gencode.models.catalog import WEIGHTS_DIR, search_path
    from gencode.provenance.record import upstream

    root = script.root.resolve()
    search = {f.resolve() for f in search_path()}
    beside = [Path(f).resolve() for f in script.program.files[1:]]  # includes
    named = []
    for m in (Path(m.path) for m in script.catalog.resolved if m.path):
        here, shipped = m.resolve().is_relative_to(root), m.resolve().is_relative_to(WEIGHTS_DIR)
        if here:
            beside.append(m.resolve())
        if m.parent.resolve() in search or not (here or shipped):
            named.append(m)  # unresolved: a link keeps the name the script uses
    for out in script.graph.outputs:
        beside += [root / n.params["path"] for n in upstream(out.node) if n.op == "load"]
        beside += [root / out.audio] if out.audio else []
    found = {}
    for prefix, top, path in [("script", root, p) for p in beside] + [("models", m.parent, m) for m in named]:  # fmt: skip
        for f in sorted(f for f in path.rglob("*") if f.is_file()) if path.is_dir() else [path]:
            found[f"{prefix}/{f.relative_to(top).as_posix()}"] = f
    return found


@dataclass
class Actor:
    """One worker as the driver sees it."""

    handle: Any
    busy: int = 0  # items in flight
    alive: bool = True
    host: str = "?"


class Pool:
    """The worker actors: as many as the cluster has room for (or `--ray-workers`)."""

    def __init__(self, ray: Any, spec: BatchSpec, text: str, binding: str | None, device: str):
        self.ray = ray
        threads, have = spec.threads or 1, ray.cluster_resources()
        gpus = int(have.get("GPU", 0)) if device in ("auto", "cuda") else 0
        self.size = spec.ray_workers or gpus or max(1, int(have.get("CPU", 1)) // threads)
        worker = dataclasses.replace(spec, sign=None, c2pa=None)  # keys stay on this machine
        remote = ray.remote(num_cpus=threads, num_gpus=1 if gpus else 0, max_restarts=0)(Worker)
        self.make = lambda: remote.remote(worker, text, binding, threads)
        self.ready: list[Actor] = []
        self.starting: dict[Any, Actor] = {}  # ready() ref → an actor not yet known to run
        self.failed_starts = 0
        for _ in range(self.size):
            self.spawn()

    def spawn(self) -> None:
        actor = Actor(self.make())
        self.starting[actor.handle.ready.remote()] = actor

    def started(self, ref: Any) -> None:
        """An actor answered (or died starting: then another takes its place, a few times)."""
        actor = self.starting.pop(ref)
        try:
            actor.host = self.ray.get(ref)
            self.ready.append(actor)
        except self.ray.exceptions.RayError as e:
            self.failed_starts += 1
            if self.failed_starts > TRIES * self.size:
                raise BatchError(f"Ray workers fail to start: {_first_line(e)}") from None
            self.spawn()

    def died(self, actor: Actor) -> None:
        """Replace a dead actor (once, however many of its items report it)."""
        if actor.alive:
            actor.alive = False
            self.ready.remove(actor)
            self.spawn()

    def free(self) -> Actor | None:
        """The least busy running actor with room for another item."""
        actor = min(self.ready, key=lambda a: a.busy, default=None)
        return actor if actor is not None and actor.busy < PER_WORKER else None

    def close(self) -> None:
        """Each worker removes its folder (a few seconds at most), then every actor ends."""
        tidy = [a.handle.close.remote() for a in self.ready]
        self.ray.wait(tidy, num_returns=len(tidy), timeout=10)
        for actor in [*self.ready, *self.starting.values()]:
            self.ray.kill(actor.handle)


@dataclass
class Job:
    item: Item
    script: Any  # the item as loaded here: its graph and program make the records
    actor: Actor


class Driver:
    """Keeps items flowing to the workers and writes each one as it comes back."""

    def __init__(self, ray, pool: Pool, spec: BatchSpec, text: str, binding, cat: Catalog, bar):
        self.ray, self.pool, self.spec, self.cat, self.bar = ray, pool, spec, cat, bar
        self.text, self.binding = text, binding
        self.files = Files(ray)
        self.flight: dict[Any, Job] = {}  # result ref → its job
        self.tries: dict[str, int] = {}

    def run(self, todo: list[Item]) -> None:
        queue = deque(todo)
        while queue or self.flight:
            while queue and (actor := self.pool.free()) is not None:
                self._send(queue.popleft(), actor)
            [ref], _ = self.ray.wait([*self.flight, *self.pool.starting], num_returns=1)
            if ref in self.pool.starting:
                self.pool.started(ref)
            else:
                self._receive(ref, queue)

    def _send(self, item: Item, actor: Actor) -> None:
        script = load_item(self.spec, self.text, self.binding, item)
        ref = actor.handle.render.remote(item, self.files.of(script))
        self.flight[ref] = Job(item, script, actor)
        actor.busy += 1

    def _receive(self, ref: Any, queue: deque) -> None:
        job = self.flight.pop(ref)
        job.actor.busy -= 1
        try:
            done: Rendered = self.ray.get(ref)
        except self.ray.exceptions.RayTaskError as e:  # the render raised: as it would here
            raise _cause(job.item, e) from None
        except self.ray.exceptions.RayError as e:  # the worker died (a crash, a kill, OOM)
            self._lost(job, e, queue)
            return
        if done.keys != [o.node.key for o in job.script.graph.outputs]:
            raise BatchError(
                f"{job.item.name}: the worker on {done.host} compiled another graph than this "
                f"machine (gencode {done.env['gencode']} there; or a built-in model differs)"
            )
        rows = write_item(self.spec, job.script, job.item, done.pixels, done.summary, done.env)
        self.cat.finish_item(job.item.name, rows)
        self.bar.update(1)

    def _lost(self, job: Job, e: Exception, queue: deque) -> None:
        """A worker died: its items go out again (to a fresh actor), a bounded number of times."""
        name = job.item.name
        self.tries[name] = self.tries.get(name, 0) + 1
        if self.tries[name] > TRIES:
            raise BatchError(
                f"{name}: its Ray worker died {self.tries[name]} times rendering it; "
                f"the batch stopped (finished items are kept). Last: {_first_line(e)}"
            )
        if job.actor.alive:
            self.bar.write(f"ray: the worker on {job.actor.host} died; re-queued its items", sys.stderr)  # fmt: skip
        self.pool.died(job.actor)
        queue.appendleft(job.item)


def _cause(item: Item, e: Exception) -> Exception:
    """A worker's exception as the single-machine runner would raise it."""
    from gencode.errors import GenError
    from gencode.runtime.execute import RenderError

    cause = getattr(e, "cause", None)
    if isinstance(cause, (GenError, RenderError, BatchError)):
        return cause
    what = f"{type(cause).__name__}: {cause}" if cause is not None else _first_line(e)
    return BatchError(f"{item.name}: failed on a Ray worker ({what})")


def _first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]
