"""Swap: saves and number edits → the next program, checked in the background.

Input: requests (a save seen, a number moved). Output: the newest good `Program`, waiting for the
engine to take it at a frame (at once, or on the `quantize` grid for saves), announced through
`on_ready`; a broken version is reported through `on_error` and never replaces the running one.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from gencode.errors import GenError
from gencode.live.program import Program
from gencode.watch import bounded


class Unchanged(Exception):
    """A save that changes nothing worth a swap (the same text; an editor's empty moment)."""


@dataclass
class Ready:
    program: Program
    kind: str  # "save" (quantized, cross-faded) or "number" (the next frame, no fade)
    after: int  # the last frame shown when it became ready


def swap_frame(ready: Ready) -> int:
    """The frame a ready program goes live at: the next one, or the next on its quantize grid."""
    q = float(ready.program.settings["quantize"]) if ready.kind == "save" else 0.0
    nxt = ready.after + 1
    if q <= 0:
        return nxt
    k = math.ceil(nxt / q - 1e-9)  # the first grid point at or after the next frame
    return int(math.ceil(k * q - 1e-9))


class Compiler:
    """One background thread loading the script whenever asked; the newest request wins."""

    def __init__(
        self,
        load: Callable[[], Program],
        frame: Callable[[], int],
        on_error: Callable[[str], None],
        on_ready: Callable[[Ready], None] = lambda ready: None,
    ):
        self._load, self._frame, self._on_error, self._on_ready = load, frame, on_error, on_ready
        self._cond = threading.Condition()
        self._wanted: str | None = None
        self._ready: Ready | None = None
        self._stopped = False
        self.busy = False
        self._thread = threading.Thread(target=self._loop, name="gencode-live-compile", daemon=True)
        self._thread.start()

    def request(self, kind: str = "save") -> None:
        with self._cond:
            # A save and a number edit together: the save's quantize wins.
            self._wanted = "save" if "save" in (kind, self._wanted) else kind
            self._cond.notify()

    def take(self, frame: int) -> Ready | None:
        """The ready program if it goes live at `frame` (or a frame the clock skipped)."""
        with self._cond:
            r = self._ready
            if r is None or frame < swap_frame(r):
                return None
            self._ready = None
            return r

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._wanted is None and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                kind: str = self._wanted or "save"
                self._wanted = None
                self.busy = True
            try:
                program = bounded.within(self._load, bounded.CHECK_SECONDS, "gencode-live-check")
            except Unchanged:
                continue
            except GenError as e:
                self._on_error("\n".join(d.format(e.sources) for d in e.errors) or str(e))
            except TimeoutError:
                self._on_error(
                    f"checking the script took longer than {bounded.CHECK_SECONDS:g}s and was abandoned "
                    "(a FIFO where a file should be? a pathological script?); still playing"
                )
            except Exception as e:  # noqa: BLE001 — the stream must outlive any bug here
                self._on_error(f"internal error while checking the script: {e!r}")
            else:
                with self._cond:
                    kind = "save" if self._ready and self._ready.kind == "save" else kind
                    self._ready = ready = Ready(program, kind, self._frame())
                self._on_ready(ready)
            finally:
                self.busy = False


class SwapDue(threading.Event):
    """Set when a new program is due at the next frame. It stops the old program's frame in
    progress only once that frame has run for LATE periods (a hung or far-behind frame: an
    img2img at a size the CPU can't keep up with); a frame near its time finishes and shows, so a
    swap adds no gap. `python bench/live.py --sizes 128 --swaps 12` on the shared 2-core box: longest
    gap 1.4-1.8 periods over five runs letting every frame finish, against 2.3-3.2 stopping every
    frame in progress and 2.1-3.4 stopping frames one period late (a frame restarted costs more
    than one finished), at the same swap latency; with this rule 1.4-2.2 over three runs in a
    busier minute. `clear()` at the start of each frame starts its clock."""

    LATE = 3  # periods

    def __init__(self) -> None:
        super().__init__()
        self.period = 0.0  # seconds: 1 / the stream's fps
        self._since = time.perf_counter()

    def clear(self) -> None:
        super().clear()
        self._since = time.perf_counter()

    def is_set(self) -> bool:
        return super().is_set() and time.perf_counter() - self._since > self.LATE * self.period

    def wait(self, timeout: float | None = None) -> bool:
        end = None if timeout is None else time.perf_counter() + timeout
        while not self.is_set():
            if end is not None and time.perf_counter() >= end:
                return False
            time.sleep(0.005)
        return True
