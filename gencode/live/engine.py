"""Engine: a live script → a continuous stream of frames at the script's fps, hot-swapped.

Input: the script path and options; saves (from a watcher), number edits and signals, any time.
Output: the picture on screen (`latest`, its JPEG), `status()`, and optionally a recording.

Real time is real time: frame t is due at t / fps seconds after the stream started; when a frame
is late the clock's frames in between are dropped (the picture stays up) and never caught up.
A good save goes live at the next frame (or on its `quantize` grid), carrying the picture over;
a broken one, or one that fails on its first frame, leaves the old program playing.
"""

from __future__ import annotations

import io
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gencode.errors import GenError
from gencode.live.inputs import InputOptions, Inputs
from gencode.live.numbers import rebind
from gencode.live.program import Numbers, Program, load
from gencode.live.recorder import Recorder
from gencode.live.setlog import SetLog
from gencode.live.stepper import Shown, Stepper, pipeline
from gencode.live.swap import Compiler, Ready, SwapDue, Unchanged, swap_frame
from gencode.runtime.device import DeviceError, trim_heap
from gencode.runtime.execute import Executor, RenderError
from gencode.runtime.registry import Cancelled

Log = Callable[[str, str], None]  # (level, text)
LIVE_CACHE = 512 << 20  # the stream's own values age fast: a small cache keeps memory flat
# The freed heap memory glibc keeps for speed is handed back every TRIM_EVERY seconds, between two
# frames. Without it a 30-minute set crept from 464 to 747 MiB (bench/soak.py): free memory, not
# a leak (malloc_trim took it back).
TRIM_EVERY = 30.0


class Engine:
    """Streams a script; `start()`, then `changed()` on saves, `stop()` at the end."""

    def __init__(
        self,
        script: str | Path,
        sets: dict[str, str] | None = None,
        fps: float | None = None,
        size: tuple[int, int] | None = None,
        device: str = "auto",
        cpu_bf16: bool = False,
        record: str | Path | None = None,
        log: Log | None = None,
        clock: Callable[[], float] = time.monotonic,
        inputs: InputOptions | None = None,
    ):
        self.path = Path(script)
        self.sets = dict(sets or {})
        self.forced: dict[str, Any] = {"size": list(size)} if size else {}
        self.fps = fps
        self.clock = clock
        self.say: Log = log or (lambda level, text: None)
        self.stepper = Stepper(pipeline(device, cache_bytes=LIVE_CACHE, cpu_bf16=cpu_bf16))
        self.numbers: Numbers = {}
        self.signals: dict[str, float] = {}
        self.session = uuid.uuid4().hex[:12]
        self.current: Program | None = None
        self.programs = 0
        self.frame = -1  # the last frame shown
        self.dropped = 0
        self.check_error: str | None = None
        self.frame_error: str | None = None
        self.latest: Shown | None = None
        self.jpeg: bytes | None = None
        self.shown = threading.Condition()  # notified on every new frame
        self._times: deque[float] = deque()
        self.step_seconds: deque[float] = deque(maxlen=4096)  # time to make each frame
        self.inputs = Inputs(inputs or InputOptions(), lambda text: self.say("warning", text))
        self._fast: Program | None = None  # the running program with a slider's new value
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._t0: float | None = None
        self._trimmed = time.monotonic()
        self.log = SetLog(
            self.path.name, str(self.path.resolve().parent), 0.0, sets=self.sets, forced=self.forced
        )
        self.recorder = Recorder(record, 1.0) if record else None
        self._interrupt = SwapDue()  # a swap is due: the old program's frame, if late, stops
        self.compiler = Compiler(self._load, lambda: self.frame, self._failed, self._ready)
        self._thread = threading.Thread(target=self._run, name="gencode-live", daemon=True)

    # ---- control ---------------------------------------------------------------------------

    @property
    def executor(self) -> Executor | None:
        """The stream's executor, made for the first program that checks."""
        return self.stepper.executor

    def start(self) -> Engine:
        self.compiler.request()
        self._thread.start()
        return self

    def stop(self) -> list[Path]:
        """Stop the stream; finish the recording (the files written)."""
        self._stop.set()
        self._thread.join(timeout=30)
        self.compiler.stop()
        self.inputs.close()
        if self.recorder is None:
            return []
        if self.latest is not None:
            self.recorder.write(self.latest.pixels)
        return self.recorder.close(self.log)

    def changed(self, paths: set[Path] | None = None) -> None:
        """A save (or a rename, a delete): check the script again in the background. The file is
        the truth again: number overrides are dropped (an editor saves its sliders' values)."""
        with self._lock:
            self.numbers.clear()
            self._fast = None
        self.compiler.request("save")

    def set_number(self, line: int, column: int, value: float) -> None:
        """Rebind the number literal at (line, column) of the script from the next frame on: in
        the running program itself when the literal only feeds frame expressions (no parse, no
        check, the same program number: gencode/live/numbers.py), else by a background check."""
        line, column, value = int(line), int(column), float(value)
        with self._lock:
            self.numbers[(line, column)] = value
            base = self._fast or self.current
        fast = rebind(base, line, column, value) if base is not None else None
        if fast is None:
            self.compiler.request("number")
            return
        with self._lock:
            self._fast = fast

    def set_signal(self, name: str, value: float) -> None:
        """A value from outside (the page), read by `signal("name")` from the next frame."""
        self.inputs.set(str(name), float(value))

    # ---- status ----------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        now = self.clock()
        with self._lock:
            while self._times and now - self._times[0] > 1.0:
                self._times.popleft()
            fps = len(self._times)
        p = self.current
        return {
            "session": self.session,
            "frame": self.frame,
            "fps": fps,
            "target_fps": self.fps,
            "program": self.programs,
            "ok": self.error is None,
            "error": self.error,
            "dropped": self.dropped,
            "reused": self.stepper.similar.reused,
            "compiling": self.compiler.busy,
            "size": list(self.latest.pixels.shape[1::-1]) if self.latest is not None else None,
            "files": list(p.checked.files) if p else [],
            "signals": dict(self.signals),
            "numbers": {f"{k[0]}:{k[1]}": v for k, v in (p.numbers if p else {}).items()},
            "inputs": self.inputs.status(),
        }

    # ---- the stream ------------------------------------------------------------------------

    def _load(self) -> Program:
        with self._lock:
            numbers = dict(self.numbers)
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise GenError.at(
                None,
                f"{self.path}: the script is gone (renamed or deleted); still playing"
                " the last program — save it again under this name to go on",
            ) from None
        except (OSError, UnicodeDecodeError):
            text = None  # load() reports it
        if text is not None and not text.strip():
            raise Unchanged()  # an editor's truncate-then-write: the real save follows
        p = self.current
        if p is not None and text == p.checked.sources.get(str(self.path)) and numbers == p.numbers:
            if len(p.checked.files) == 1:
                self.check_error = None  # a broken save put back as it was: nothing is wrong
                raise Unchanged()
        return load(self.path, self.sets, numbers, self.forced, text)

    @property
    def error(self) -> str | None:
        """What is wrong now: the newest save that did not go live, else a failing frame."""
        return self.check_error or self.frame_error

    def _failed(self, message: str, kind: str = "check") -> None:
        if kind == "check":
            self.check_error = message
        else:
            self.frame_error = message
        self.log.error(self.frame, message)
        self.say("error", message)

    def _run(self) -> None:
        while not self._stop.is_set():
            if time.monotonic() - self._trimmed > TRIM_EVERY:  # between frames, ~4 ms
                trim_heap()
                self._trimmed = time.monotonic()
            f = self._due()
            if f is None:
                continue
            try:
                self._frame(f)
            except Exception as e:  # noqa: BLE001 — nothing may stop the stream
                self._failed(f"internal error at frame {f}: {e!r}", "frame")
                self._stop.wait(0.05)

    def _due(self) -> int | None:
        """The frame the clock says is due now, after waiting for it; None to look again."""
        if self.current is None and not self._take(self.frame + 1 if self.frame >= 0 else 0):
            self._stop.wait(0.02)  # no good program yet: wait for a save
            return None
        if self._t0 is None:
            return self.frame + 1
        assert self.fps is not None
        due = int((self.clock() - self._t0) * self.fps)
        if due <= self.frame:
            wait = self._t0 + (self.frame + 1) / self.fps - self.clock()
            self._stop.wait(max(wait, 0.0))
            return None
        return due

    def _take(self, frame: int) -> bool:
        """Swap in a ready program if it is due at `frame`; False when none went live."""
        ready = self.compiler.take(frame)
        if ready is None:
            return False
        return self._begin(ready, frame)

    def _begin(self, ready: Ready, frame: int) -> bool:
        p = ready.program
        if self.fps is None:
            self.fps = float(p.settings["fps"])  # the clock keeps the first program's fps
        self._interrupt.period = 1.0 / self.fps
        self.log.fps = self.fps
        if self.recorder is not None:
            self.recorder.fps = self.fps
        saved = (self.current, self.stepper.state())
        try:
            if ready.kind == "save":
                self.stepper.begin(p, frame)
            else:
                self.stepper.adopt(p)
        except (GenError, DeviceError) as e:  # no executor: a device the machine lacks
            self._failed(e.format() if isinstance(e, GenError) else f"{self.path.name}: {e}")
            return False
        self._environment()
        p.number = self.programs + 1
        self.current = p
        self.inputs.program(p.checked, p.root)
        self._signals(frame)  # the signals it reads, from its first frame on
        if self._step(frame, first=True) is None:
            self.current = saved[0]
            self.stepper.restore(saved[1])
            if saved[0] is not None:
                self.inputs.program(saved[0].checked, saved[0].root)
            return False
        self.programs = p.number
        models = {m.sha256: m.as_param() for m in p.catalog.resolved}
        self.log.program(
            p.number, frame, self._seconds(frame), p.sources(), p.numbers,
            kind=ready.kind, models=list(models.values()),
        )  # fmt: skip
        if ready.kind == "number":
            self.log.event(frame, "numbers", numbers=[[*k, v] for k, v in p.numbers.items()])
        self.say("info", f"program {p.number} live at frame {frame}")
        return True

    def _environment(self) -> None:
        """The set log's environment, once the stream's executor exists."""
        ex = self.executor
        if ex is not None and not self.log.environment:
            from gencode.provenance.record import environment

            self.log.environment = environment(str(ex.device), ex.dtype_name, ex.threads)

    def _ready(self, ready: Ready) -> None:
        """A new program is checked: if it goes live at the next frame, the frame being made
        for the old one stops (at its next denoising step) and the new one's is made instead."""
        if swap_frame(ready) <= self.frame + 1:
            self._interrupt.set()

    def _frame(self, f: int) -> None:
        self._signals(f)
        for _ in range(2):  # again when a swap stopped the old program's frame: the new one's
            self._interrupt.clear()
            ready = self.compiler.take(f)
            if ready is not None and self._begin(ready, f):
                return
            with self._lock:
                fast, self._fast = self._fast, None
            current = self.current
            try:
                if fast is not None and current is not None and fast.number == current.number:
                    self._rebound(fast, f)
                else:
                    self._step(f)
                return
            except _Interrupted:
                self.current = current  # the slider's values wait for the frame that shows them
                with self._lock:
                    self._fast = self._fast or fast
                continue

    def _rebound(self, fast: Program, f: int) -> None:
        """A slider's value goes live in the running program; a frame it breaks keeps the old."""
        old, self.current = self.current, fast
        if self._step(f) is None:
            self.current = old
            return
        self.log.event(f, "numbers", numbers=[[*k, v] for k, v in fast.numbers.items()])

    def _signals(self, f: int) -> None:
        """Each signal the program reads, at this frame's time; every change goes in the log."""
        for name, value in self.inputs.read(self._seconds(f)).items():
            if self.signals.get(name) != value:
                self.signals[name] = value
                self.log.event(f, "signal", name=name, value=value)

    def _step(self, f: int, first: bool = False) -> Shown | None:
        """Make and show frame f; on failure report it and show nothing (the old picture stays).
        A running program's frame stops when a swap is due (_Interrupted); a new one's never."""
        assert self.current is not None
        t0 = time.perf_counter()
        cancel = None if first else self._interrupt
        try:
            shown = self.stepper.step(self.current, f, dict(self.signals), cancel)
        except (RenderError, GenError, Cancelled, ValueError) as e:
            if isinstance(e, Cancelled) and cancel is not None and cancel.is_set():
                raise _Interrupted() from None
            text = e.format() if isinstance(e, GenError) else str(e)
            if isinstance(e, RenderError):
                text = e.located()
            what = "not swapped in" if first and self.programs else "frame failed"
            self._failed(
                f"{self.path.name}: {what} at frame {f}: {text}", "check" if first else "frame"
            )
            return None
        self.step_seconds.append(time.perf_counter() - t0)
        self._show(shown)
        self.frame_error = None
        if first:
            self.check_error = None
        return shown

    def _show(self, shown: Shown) -> None:
        if self.frame >= 0:
            self.dropped += max(shown.frame - self.frame - 1, 0)
        if self.recorder is not None and self.latest is not None:
            self.recorder.write(self.latest.pixels, shown.frame - self.latest.frame)
        same = self.latest is not None and self.latest.sha256 == shown.sha256
        jpeg = self.jpeg if same and self.jpeg else encode_jpeg(shown.pixels)  # once per picture
        with self.shown:
            self.latest, self.jpeg, self.frame = shown, jpeg, shown.frame
            self.shown.notify_all()
        with self._lock:
            self._times.append(self.clock())
        self.log.shown(shown.frame, shown.sha256)
        if self._t0 is None:
            assert self.fps is not None
            self._t0 = self.clock() - shown.frame / self.fps  # the clock starts when frame 0 is up

    def _seconds(self, frame: int) -> float:
        return frame / self.fps if self.fps else 0.0

    def wait_frame(self, after: int, timeout: float = 5.0) -> Shown | None:
        """The first frame shown after frame `after` (None on timeout)."""
        with self.shown:
            self.shown.wait_for(lambda: self.frame > after or self._stop.is_set(), timeout)
            return self.latest if self.frame > after else None


class _Interrupted(Exception):
    """A swap is due: the frame being made for the old program was stopped."""


def encode_jpeg(pixels, quality: int = 90) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=quality)
    return buf.getvalue()
