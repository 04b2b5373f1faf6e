"""Live: a script path → a running session, folder watcher and preview server, wired together.

This is what `gencode watch` runs, and what the tests and the latency benchmark start in-process.
"""

from __future__ import annotations

from pathlib import Path

from gencode.watch.server import PreviewServer
from gencode.watch.session import Log, Session
from gencode.watch.watcher import Watcher


class Live:
    """Watches a script's folders, re-renders on saves, serves the preview; `with` stops it all."""

    def __init__(
        self,
        script: str | Path,
        out_dir: str | Path | None = None,
        sets: dict[str, str] | None = None,
        port: int = 0,
        debounce: float = 0.1,
        log: Log | None = None,
        device: str | None = None,
        cache: str | Path | None = None,
        cpu_bf16: bool = False,
    ):
        self.session = Session(
            script, out_dir, sets, log=log, device=device, cache=cache, cpu_bf16=cpu_bf16
        )
        self.watcher = Watcher(self.session.changed, self.session.relevant, debounce)
        # Includes come and go with edits: the watched folders follow the files last read.
        self.session.on_files = lambda files: self.watcher.watch(folders(files))
        self.server = PreviewServer(self.session, port)

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> Live:
        """Watch first, so a save during the first render is seen; then serve and render."""
        self.watcher.start(folders(self.session.files))
        self.server.start()
        self.session.start()
        return self

    def stop(self) -> None:
        self.watcher.stop()
        self.session.stop()
        self.server.stop()

    def __enter__(self) -> Live:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def folders(files: set[Path]) -> set[Path]:
    """The folders holding these files (watched non-recursively)."""
    return {f.parent for f in files}
