"""Session: saves of a script → renders in one long-lived process, the last good frames kept.

Input: change notifications (from the watcher) for a script, its includes and the images it
loads. Output: `Snapshot`s of good renders, a status dict, and events on a `Hub`.

A save is checked at once, on the caller's thread (the front end is fast and torch-free). A script
that checks supersedes the render in progress: its cancel event is set, so the stale render stops
at the next step or chunk, and the render thread picks up the newest script; saves are never
queued. A script that fails its check leaves a running render alone (it is still the newest good
script). One Executor lives as long as the session, so an edit re-runs only the changed nodes.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gencode.errors import GenError
from gencode.watch import bounded
from gencode.watch.frames import Snapshot, error_text, locate, non_finite
from gencode.watch.hub import Hub
from gencode.watch.watcher import files_of, include_targets

Log = Callable[[str, str], None]  # (level: "info" | "warning" | "error", text)
PROGRESS_INTERVAL = 0.05  # seconds between progress events: steps can be far faster than pages
RENDER_SECONDS = 600.0  # a render that takes longer is stopped at its next step


@dataclass
class Problem:
    kind: str  # "check" | "render" | "write"
    text: str  # formatted: file:line:col, the line and a caret
    seq: int  # the save it came from: a render of an older save does not clear it


class Session:
    """Renders a script on every relevant save and keeps the last good frames."""

    def __init__(
        self,
        script: str | Path,
        out_dir: str | Path | None = None,
        sets: dict[str, str] | None = None,
        hub: Hub | None = None,
        log: Log | None = None,
        device: str | None = None,
        cache: str | Path | None = None,
        cpu_bf16: bool = False,
        check_seconds: float = bounded.CHECK_SECONDS,
        render_seconds: float = RENDER_SECONDS,
    ):
        self.path = Path(script)
        self.id = uuid.uuid4().hex[:12]  # pages tell a restarted session from this one
        self.check_seconds, self.render_seconds = check_seconds, render_seconds
        self.checking = False
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.sets = dict(sets or {})
        self.hub = hub or Hub()
        self.log: Log = log or (lambda level, text: None)
        self.device = device
        self.cache = cache  # a disk cache folder: a restarted session starts warm
        self.cpu_bf16 = cpu_bf16
        self.executor: Any = None
        self.files: set[Path] = {self.path.resolve()}  # the script, its includes, loaded images
        self.on_files: Callable[[set[Path]], None] = lambda files: None  # the watcher's folders
        self.snapshot: Snapshot | None = None
        self.previous: Snapshot | None = None  # pages may still be fetching its frames
        self.problem: Problem | None = None
        self.progress: dict[str, Any] | None = None
        self.rendering = False
        self.renders = self.cancelled = self.failures = self.skipped = self.checks = 0
        self.writes = 0  # renders whose files are written (after their frames are announced)
        self._seq = 0
        self._fingerprint: tuple | None = None
        self._front_error = False
        self._notes: list[str] = []
        self._pending: tuple[int, Any] | None = None
        self._cancel: threading.Event | None = None
        self._stopped = False
        self._cond = threading.Condition()
        self._submit_lock = threading.Lock()
        self._last_progress = 0.0
        self._thread = threading.Thread(target=self._loop, name="gencode-render", daemon=True)

    # ---- saves ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the render thread and render the script as it is now."""
        self._thread.start()
        self.changed(set())

    def relevant(self, path: Path) -> bool:
        """Whether an event on `path` may change the render (the watcher's filter)."""
        if self.out_dir is not None and path.is_relative_to(self.out_dir.resolve()):
            return False  # our own outputs
        if path in self.files or path.suffix == ".gen":
            return True
        # After a failed check, a new file may be what the script was missing (an include,
        # an image); the check is cheap, so any file in the watched folders re-runs it.
        return self._front_error and not path.name.startswith(".")

    def changed(self, paths: set[Path]) -> None:
        """A (debounced) burst of saves touched `paths`: check the script and, if it changed,
        supersede the render in progress."""
        with self._submit_lock:
            if not self.path.exists() and not self._follow(paths):
                return
            fingerprint = self._read()
            if fingerprint is None or not self._news(fingerprint, paths):
                self.skipped += 1
                return
            self._fingerprint = fingerprint
            self._seq += 1
            self.checks += 1
            script = self._check(self._seq)
            if script is not None:
                self._supersede(self._seq, script)

    def evaluate(self, script: Any) -> None:
        """Render a script checked elsewhere (a slider's rebound number) as a save would be."""
        with self._submit_lock:
            self._seq += 1
            self._supersede(self._seq, script)

    def _follow(self, paths: set[Path]) -> bool:
        """The script is gone: follow a rename when one new script appeared beside it in the same
        burst (True), else say so (the last good frames stay) and wait for it to come back."""
        folder = self.path.resolve().parent
        moved = [
            p for p in paths
            if p.suffix == ".gen" and p.parent == folder and p.is_file() and p not in self.files
            and not p.name.startswith(".")
        ]  # fmt: skip
        if len(moved) == 1:
            self.log("info", f"{self.path.name} was renamed to {moved[0].name}: following it")
            self.files = (self.files - {self.path.resolve()}) | {moved[0]}
            self.path = moved[0] if self.path.is_absolute() else Path(os.path.relpath(moved[0]))
            return True
        self.skipped += 1
        text = (
            f"{self.path}: the script was renamed or deleted — still showing the last good "
            "frames; save it again under this name (or rename it back) to go on"
        )
        self._fail(Problem("check", text, self._seq + 1))
        return False

    def _read(self) -> tuple | None:
        """A fingerprint of every tracked file, or None while a save is under way (the script
        missing or any tracked file empty: VS Code truncates before it writes)."""
        parts = []
        for f in sorted(self.files):
            try:
                data = f.read_bytes()
            except OSError:
                if f == self.path.resolve():
                    return None  # deleted, to be recreated: wait for it
                data = None  # a missing include is the check's to report
            if data is not None and not data.strip():
                return None
            parts.append((str(f), None if data is None else hashlib.sha1(data).digest()))
        return tuple(parts)

    def _news(self, fingerprint: tuple, paths: set[Path]) -> bool:
        """Whether this save can change anything: new bytes, or a new file after a failed check."""
        if fingerprint != self._fingerprint:
            return True
        return self._front_error and bool(paths - self.files)

    def _check(self, seq: int) -> Any:
        """The loaded script, or None after reporting its errors (a running render goes on)."""
        try:
            script = self._bounded_check()
        except TimeoutError:
            self._front_error = True
            text = (
                f"{self.path}: checking took longer than {self.check_seconds:g}s and was "
                "abandoned; still showing the last good frames"
            )
            self._fail(Problem("check", text, seq))
            return None
        except GenError as e:
            self._front_error = True
            self._track({Path(f).resolve() for f in e.sources})
            # A missing include may be in a folder made later: watch where includes point.
            self.on_files(self.files | include_targets(e.sources))
            # Errors only: a performer needs the culprit, not the notes the checker adds.
            text = "\n".join(d.format(e.sources) for d in e.errors) or str(e)
            self._fail(Problem("check", text, seq))
            return None
        self._front_error = False
        self._track(files_of(script))
        notes = [n.format(script.program.sources) for n in script.program.notes]
        if notes != self._notes:  # said once, not on every save
            self._notes = notes
            for note in notes:
                self.log("warning", note)
        return script

    def _bounded_check(self) -> Any:
        """load_script, given up after `check_seconds` (TimeoutError): a hanging check (a FIFO,
        a pathological script) must not wedge the session."""
        from gencode.render import load_script

        self.checking = True
        self._publish()
        try:
            return bounded.within(
                lambda: load_script(self.path, self.sets), self.check_seconds, "gencode-check"
            )
        finally:
            self.checking = False

    def _track(self, files: set[Path]) -> None:
        files = files | {self.path.resolve()}
        if files != self.files:
            self.files = files
            self._fingerprint = self._read()  # the new set's bytes, so the next save compares
            self.on_files(files)

    def _supersede(self, seq: int, script: Any) -> None:
        with self._cond:
            self._pending = (seq, script)
            if self._cancel is not None:
                self._cancel.set()  # the stale render stops at its next step or chunk
            self._cond.notify()

    # ---- renders ----------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                (seq, script), self._pending = self._pending, None
                cancel = self._cancel = threading.Event()
                self.rendering, self.progress = True, None
            self._publish()
            try:
                self._render(seq, script, cancel)
            except Exception as e:  # a bug must not stop the show: report it and go on
                self._fail(Problem("render", f"{self.path}: internal error: {e!r}", seq))
            with self._cond:
                self._cancel = None
                self.rendering = self._pending is not None
            self._publish()

    def _render(self, seq: int, script: Any, cancel: threading.Event) -> None:
        from gencode.render import render
        from gencode.runtime.registry import Cancelled

        late = threading.Event()

        def too_long() -> None:
            late.set()
            cancel.set()

        timer = threading.Timer(self.render_seconds, too_long)
        timer.daemon = True
        timer.start()
        try:
            ex = self._executor(script)
            result = render(script, executor=ex, write=False, progress=self._step, cancel=cancel)
        except Cancelled:
            self.cancelled += 1
            if late.is_set():
                text = f"{self.path}: the render took longer than {self.render_seconds:g}s and was stopped"
                self._fail(Problem("render", text, seq))
            else:
                with self._cond:
                    stopping = self._stopped  # Ctrl-C or the window closed, not a newer save
                self.log(
                    "info", "stopped" if stopping else "superseded by a newer save: render stopped"
                )
            return
        except Exception as e:  # RenderError, DeviceError, out of memory, a bad file...
            node = getattr(e, "node", None)
            self._fail(Problem("render", locate(script, error_text(e), node), seq))
            return
        finally:
            timer.cancel()
        bad = non_finite(result)
        if bad is not None:
            text = f"output '{bad}' has NaN or infinite values; keeping the last good frames"
            self._fail(Problem("render", locate(script, text, output=bad), seq))
            return
        self._succeed(seq, result)
        if self.out_dir is not None:
            self._write(seq, script, cancel)

    def _executor(self, script: Any) -> Any:
        """The session's one executor, made for the first script that checks."""
        if self.executor is None:
            from gencode.render import executor_for

            self.executor = executor_for(
                script.program, script.catalog, self.device or "auto",
                disk_cache=self.cache, cpu_bf16=self.cpu_bf16,
            )  # fmt: skip
        return self.executor

    def _succeed(self, seq: int, result: Any) -> None:
        snap = Snapshot.of(result, self.renders + 1)  # only this thread counts renders
        with self._cond:  # frames first, then the count: a reader never sees one without the other
            self.previous, self.snapshot = self.snapshot, snap
            self.renders += 1
            if self.problem is not None and self.problem.seq <= seq:
                self.problem = None
        ran = ", ".join(f"{op} {n}" for op, n in sorted(result.summary.runs.items())) or "none"
        self.log("info", f"render {self.renders}: {result.summary.seconds:.2f}s (ran: {ran})")
        self._publish()

    def _write(self, seq: int, script: Any, cancel: threading.Event) -> None:
        """Write the files: a second render that finds every value cached, then writes."""
        from gencode.render import render

        try:
            render(script, self.out_dir, executor=self.executor, cancel=cancel)
            self.writes += 1
        except Exception as e:
            self._fail(
                Problem("write", f"{self.path}: error writing outputs: {error_text(e)}", seq)
            )

    def _step(self, label: str, done: int, total: int) -> None:
        """The executor's progress report, passed on to pages at most every 50 ms."""
        self.progress = {"label": label, "done": done, "total": total}
        now = time.monotonic()
        if done >= total or now - self._last_progress >= PROGRESS_INTERVAL:
            self._last_progress = now
            self.hub.publish("progress", self.progress)

    def _fail(self, problem: Problem) -> None:
        """Report a problem: terminal and pages; the last good frames stay."""
        with self._cond:
            same = self.problem is not None and self.problem.text == problem.text
            self.problem = problem
            self.failures += 1
        if not same:  # vim's swap writes re-run a failed check: say it once
            self.log("error", problem.text)
        self._publish()

    # ---- state ------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """What `GET /status` returns and what pages receive on every change."""
        with self._cond:
            snap, problem = self.snapshot, self.problem
            items = snap.describe() if snap is not None else []
            return {
                "session": self.id,
                "time": time.time(),  # the server's clock: every page's loops in step
                "checking": self.checking,
                "renders": self.renders,
                "ok": problem is None,
                "error": problem.text if problem else None,
                "error_kind": problem.kind if problem else None,
                "outputs": [item["frames"][0] for item in items],
                "items": items,
                "generation": snap.generation if snap else 0,
                "rendering": self.rendering,
                "progress": self.progress if self.rendering else None,
                "cancelled": self.cancelled,
                "script": str(self.path),
            }

    def frames(self, generation: int) -> Snapshot | None:
        """The snapshot with this generation, if it is still kept."""
        with self._cond:
            for snap in (self.snapshot, self.previous):
                if snap is not None and snap.generation == generation:
                    return snap
        return None

    def _publish(self) -> None:
        self.hub.publish("status", self.status())

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel any render and end the render thread."""
        with self._cond:
            self._stopped = True
            if self._cancel is not None:
                self._cancel.set()
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)
