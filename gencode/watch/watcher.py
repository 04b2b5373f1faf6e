"""Watcher: file-system events in a set of folders → one debounced call per burst of saves.

Input: the folders to watch and a predicate saying which paths matter. Output: `on_change(paths)`,
called on the trailing edge of a burst (no relevant event for `delay` seconds), from one thread.

Folders are watched rather than files because editors rarely write a file in place: vim writes a
temporary file and renames it over the original, some editors delete then recreate, VS Code
truncates then writes. A watch on the file itself would follow the old inode and go deaf; a watch
on its folder sees every one of these as an event naming the file's path.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from gencode.errors import GenError
from gencode.ops.table import files_read

# Events that can change a file's bytes; opens and read-only closes are noise (our own reads
# of the script would otherwise wake us up again).
CHANGES = frozenset({"created", "modified", "moved", "deleted", "closed"})


class Debouncer:
    """Calls `fire(paths)` once `delay` seconds pass with no `poke`: the trailing edge of a burst."""

    def __init__(self, delay: float, fire: Callable[[set[Path]], None]):
        self.delay, self.fire = delay, fire
        self._paths: set[Path] = set()
        self._deadline = 0.0
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="gencode-debounce", daemon=True)
        self._thread.start()

    def poke(self, path: Path) -> None:
        """One more event: the burst goes on, so the call moves `delay` seconds later."""
        with self._cond:
            self._paths.add(path)
            self._deadline = time.monotonic() + self.delay
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and not (
                    self._paths and time.monotonic() >= self._deadline
                ):
                    wait = self._deadline - time.monotonic() if self._paths else None
                    self._cond.wait(wait)
                if self._stopped:
                    return
                paths, self._paths = self._paths, set()
            try:
                self.fire(paths)
            except Exception as e:  # a bug in a callback must not stop the watching
                print(f"gencode watch: internal error after a change: {e!r}")


class _Handler(FileSystemEventHandler):
    """Turns watchdog events into pokes for the paths that matter."""

    def __init__(self, watcher: Watcher):
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in CHANGES:
            return
        if event.is_directory and event.event_type not in ("created", "moved"):
            return  # a new folder may be where a missing include is about to appear
        # A rename names two paths: vim's temp file (src) and the script (dest).
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if raw:
                self.watcher.seen(Path(_text(raw)))


class Watcher:
    """Watches folders (not recursively) and reports debounced changes to relevant files."""

    def __init__(
        self,
        on_change: Callable[[set[Path]], None],
        relevant: Callable[[Path], bool],
        delay: float = 0.1,
    ):
        self.relevant = relevant
        self.debouncer = Debouncer(delay, on_change)
        self.observer = Observer()
        self.observer.daemon = True
        self._handler = _Handler(self)
        self._watches: dict[Path, object] = {}
        self._lock = threading.Lock()
        self.events = 0  # relevant events seen (tests count them)

    def start(self, folders: Iterable[Path]) -> None:
        self.watch(folders)
        self.observer.start()

    def watch(self, folders: Iterable[Path]) -> None:
        """Watch exactly these folders from now on (the set of included files changes with edits)."""
        wanted = {Path(f).resolve() for f in folders}
        with self._lock:
            for folder in set(self._watches) - wanted:
                self.observer.unschedule(self._watches.pop(folder))
            for folder in wanted - set(self._watches):
                if folder.is_dir():  # a missing folder is watched once an edit names it again
                    self._watches[folder] = self.observer.schedule(self._handler, str(folder))

    @property
    def folders(self) -> set[Path]:
        with self._lock:
            return set(self._watches)

    def seen(self, path: Path) -> None:
        """One raw event: poke the debouncer if the path is one we care about."""
        path = path.resolve() if path.is_absolute() else path.absolute()
        if self.relevant(path):
            self.events += 1
            self.debouncer.poke(path)

    def stop(self) -> None:
        """Stop watching and join the threads (Ctrl-C must not hang on them)."""
        self.debouncer.stop()
        try:
            self.observer.stop()
            self.observer.join(timeout=5)
        except RuntimeError:  # never started
            pass


def _text(path: str | bytes) -> str:
    return path.decode("utf-8", "surrogateescape") if isinstance(path, bytes) else path


# ---- what a script read: the files to watch ------------------------------------------------


def files_of(script: Any) -> set[Path]:
    """The files a script read: itself, its includes, and the images it loads."""
    files = {Path(f).resolve() for f in script.program.files}
    for node in script.graph.nodes:
        files.update((script.root / f).resolve() for f, _ in files_read(node.op, node.params))
    return files


def include_targets(sources: dict[str, str]) -> set[Path]:
    """Where the includes of these files point (existing or not), for the watcher."""
    from gencode import ast
    from gencode.parse import parse

    out = set()
    for name, text in sources.items():
        try:
            program = parse(text, name)
        except GenError:
            continue
        for stmt in program.statements:
            if isinstance(stmt, ast.Include):
                out.add((Path(name).resolve().parent / stmt.path.value).resolve())
    return out
