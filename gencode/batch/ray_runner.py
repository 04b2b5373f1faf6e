"""Running a batch on Ray: the items still to render → Ray actors that render them → files,
catalog rows and the manifest, written here by the driver exactly as the single-machine runner
writes them (`runner.write_item`), so every guarantee of a batch folder holds unchanged.

Workers (`ray_worker.Worker`) are actors, each holding one long-lived Executor. A worker gets the
script text and the plan once, then per item the item and the files it reads, by name and
sha256; bytes go through Ray's object store only to a machine that asks for them (one that does
not see the driver's files), once per sha256. Each worker has at most PER_WORKER items in flight,
so this process writes finished items while others render. A worker that dies has its items sent
to a fresh one, a bounded number of times.

Ray is imported only here, and only when a batch is given `--ray`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import socket
import sys
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gencode.batch.catalog import Catalog
from gencode.batch.plan import Item
from gencode.batch.ray_worker import Files, Need, Rendered, Worker
from gencode.batch.runner import BatchError, BatchSpec, load_item, progress_bar, write_item
from gencode.ops.table import files_read

MISSING = "--ray needs Ray: pip install '.[ray]'"
PER_WORKER = 2  # items in flight per worker: one rendering, the next waiting, none idle
TRIES = 3  # times an item is sent out again after its worker died, before the batch stops


def require_ray(address: str | None = None) -> Any:
    """The ray module, or a BatchError saying how to install it (or that `address` is dead)."""
    try:
        import ray
    except ImportError:
        raise BatchError(MISSING) from None
    if address is not None and (m := re.fullmatch(r"(?:ray://)?\[?([^\]]+?)\]?:(\d+)", address)):
        try:  # fail fast: Ray itself retries an address nobody answers at for minutes
            socket.create_connection((m[1], int(m[2])), timeout=5).close()
        except OSError as e:
            raise BatchError(
                f"--ray {address}: nothing answers there ({e.strerror or e})"
            ) from None
    return ray


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


class Shipper:
    """The files items read, and their bytes in Ray's object store once a worker asks."""

    def __init__(self, ray: Any):
        self.ray = ray
        self.refs: dict[str, Any] = {}  # sha256 → ObjectRef of the bytes

    def files(self, script) -> Files:
        """One loaded item's files (see `needs`), with the bytes of those sent already."""
        from gencode.models.checkpoint import file_sha256

        out = {}
        for name, path in needs(script).items():
            sha = file_sha256(path)
            out[name] = (sha, str(path), self.refs.get(sha))
        return out

    def send(self, files: Files, names: list[str]) -> Files:
        """`files` with the bytes of `names` put in the object store."""
        for name in names:
            sha, path, _ = files[name]
            if sha not in self.refs:
                data = Path(path).read_bytes()
                if hashlib.sha256(data).hexdigest() != sha:
                    raise BatchError(f"{path} changed during the batch; run it again to resume")
                self.refs[sha] = self.ray.put(data)
        return {n: (sha, p, self.refs.get(sha)) for n, (sha, p, _) in files.items()}


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
        beside += [root / f for n in upstream(out.node) for f, _ in files_read(n.op, n.params)]
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
    alone: bool = False  # rendering an item whose worker died: nothing else goes with it
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
        home = str(Path(spec.script).resolve().parent)
        self.make = lambda: remote.remote(worker, text, binding, home, threads)
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

    def free(self, alone: bool = False) -> Actor | None:
        """The least busy running actor with room for another item (`alone`: an idle one)."""
        room = 1 if alone else PER_WORKER
        return min((a for a in self.ready if a.busy < room and not a.alone), key=lambda a: a.busy, default=None)  # fmt: skip

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
    files: Files
    actor: Actor


class Driver:
    """Keeps items flowing to the workers and writes each one as it comes back."""

    def __init__(self, ray, pool: Pool, spec: BatchSpec, text: str, binding, cat: Catalog, bar):
        self.ray, self.pool, self.spec, self.cat, self.bar = ray, pool, spec, cat, bar
        self.text, self.binding = text, binding
        self.shipper = Shipper(ray)
        self.flight: dict[Any, Job] = {}  # result ref → its job
        self.tries: dict[str, int] = {}

    def run(self, todo: list[Item]) -> None:
        queue = deque(todo)
        while queue or self.flight:
            # An item whose worker died goes alone: if it kills this one too, it is the cause.
            while queue and (actor := self.pool.free(queue[0].name in self.tries)) is not None:
                self._send(queue.popleft(), actor)
            [ref], _ = self.ray.wait([*self.flight, *self.pool.starting], num_returns=1)
            if ref in self.pool.starting:
                self.pool.started(ref)
            else:
                self._receive(ref, queue)

    def _send(self, item: Item, actor: Actor) -> None:
        script = load_item(self.spec, self.text, self.binding, item)
        self._submit(Job(item, script, self.shipper.files(script), actor))

    def _submit(self, job: Job) -> None:
        self.flight[job.actor.handle.render.remote(job.item, job.files)] = job
        job.actor.busy += 1
        job.actor.alone = job.item.name in self.tries

    def _receive(self, ref: Any, queue: deque) -> None:
        job = self.flight.pop(ref)
        job.actor.busy -= 1
        job.actor.alone = False
        try:
            done: Rendered | Need = self.ray.get(ref)
        except self.ray.exceptions.RayTaskError as e:  # the render raised: as it would here
            raise _cause(job.item, e) from None
        except self.ray.exceptions.RayError as e:  # the worker died (a crash, a kill, OOM)
            self._lost(job, e, queue)
            return
        if isinstance(done, Need):  # a machine without these files: send them, then the item
            job.files = self.shipper.send(job.files, done.names)
            self._submit(job)
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
