"""Watch mode: saves of a .gen script → incremental re-renders → a live preview page.

`watcher` turns file-system events into debounced changes; `session` checks and renders each
change in one long-lived process (superseding a stale render, keeping the last good frames);
`server` serves the page in `static/`, `/status` and server-sent events on 127.0.0.1; `live`
wires the three together for `gencode watch`.
"""

from gencode.watch.live import Live
from gencode.watch.session import Session

__all__ = ["Live", "Session"]
