"""Swap: saves and number edits → the next program, checked in the background.

Input: requests (a save seen, a number moved). Output: the newest good `Program`, waiting for the
engine to take it at a frame (at once, or on the `quantize` grid for saves), announced through
`on_ready`; a broken version is reported through `on_error` and never replaces the running one.
"""

from __future__ import annotations

import math
import threading
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
