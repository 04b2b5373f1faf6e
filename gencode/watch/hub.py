"""Hub: session events (status, progress) → every connected preview page, one queue per page."""

from __future__ import annotations

import json
import queue
import threading
from typing import Any

# A page that stops reading must not hold memory forever: its oldest news is dropped.
QUEUE_SIZE = 256


class Hub:
    """Fan-out of named JSON events to subscribers (the server's event-stream handlers)."""

    def __init__(self) -> None:
        self._subscribers: list[queue.Queue] = []
        self._lock = threading.Lock()
        self.closed = threading.Event()

    def subscribe(self) -> queue.Queue:
        q: queue.Queue = queue.Queue(QUEUE_SIZE)
        with self._lock:
            self._subscribers.append(q)
        return q

    def unsubscribe(self, q: queue.Queue) -> None:
        with self._lock:
            if q in self._subscribers:
                self._subscribers.remove(q)

    def publish(self, event: str, data: dict[str, Any]) -> None:
        """Send one event to every subscriber, as `(name, JSON text)`."""
        text = json.dumps(data, separators=(",", ":"))
        with self._lock:
            subscribers = list(self._subscribers)
        for q in subscribers:
            try:
                q.put_nowait((event, text))
            except queue.Full:  # a stalled page: drop its oldest event, keep the newest
                try:
                    q.get_nowait()
                    q.put_nowait((event, text))
                except (queue.Empty, queue.Full):
                    pass

    def close(self) -> None:
        """Wake every stream handler so it ends (the server is stopping)."""
        self.closed.set()
        self.publish("bye", {})

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._subscribers)
