"""Session: a script path → engine, folder watcher and server, wired together (`with` stops all).

This is what `gencode live` runs, and what the tests and `bench/live.py` start in-process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gencode.live.engine import Engine
from gencode.live.server import LOOPBACK, LiveServer
from gencode.watch.watcher import Watcher

# Seconds of quiet after a save before it is checked. An editor's save is a burst of events within
# a millisecond or two (truncate, write, close; or write a temp file and rename it); a check takes
# milliseconds and an empty moment is ignored, so the stream need not wait longer (0.05 s was 1/5
# of the time from a save to the new picture at 128 px).
DEBOUNCE = 0.01


class LiveSession:
    """The stream, re-checked on every save of the script or its includes, served over HTTP."""

    def __init__(
        self, script: str | Path, port: int = 0, host: str = LOOPBACK, debounce: float = DEBOUNCE,
        **engine: Any,
    ):  # fmt: skip
        self.engine = Engine(script, **engine)
        self.script = Path(script).resolve()
        self.watcher = Watcher(self._changed, self._relevant, debounce)
        self.server = LiveServer(self.engine, port, host)

    @property
    def url(self) -> str:
        return self.server.url

    def _relevant(self, path: Path) -> bool:
        """The script, its includes, or any .gen beside them (an include that appears later)."""
        return path.suffix == ".gen" or path in self._files()

    def _files(self) -> set[Path]:
        p = self.engine.current
        files = {self.script}
        if p is not None:
            files |= {Path(f).resolve() for f in p.checked.files}
        return files

    def _changed(self, paths: set[Path]) -> None:
        self.engine.changed(paths)
        # Includes come and go with edits: watch the folders of the files last read.
        self.watcher.watch({f.parent for f in self._files()})

    def start(self) -> LiveSession:
        self.watcher.start({self.script.parent})
        self.server.start()
        self.engine.start()
        return self

    def stop(self) -> list[Path]:
        self.watcher.stop()
        self.server.stop()
        return self.engine.stop()

    def __enter__(self) -> LiveSession:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
