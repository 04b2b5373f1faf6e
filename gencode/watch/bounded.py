"""Bounded calls: a function run on a worker thread, given up after a time limit.

Input: a call that may hang (a check reading a FIFO, a pathological script). Output: its result,
its exception, or TimeoutError after `seconds` — the caller goes on (the worker, a daemon thread,
is left to finish on its own: Python cannot stop a thread).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

R = TypeVar("R")
CHECK_SECONDS = 10.0  # a check that takes longer is abandoned (watch and live stay responsive)


def within(fn: Callable[[], R], seconds: float, name: str = "gencode-bounded") -> R:
    """fn(), or TimeoutError when it takes longer than `seconds`."""
    box: dict = {}

    def work() -> None:
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001 — re-raised on the caller's thread
            box["error"] = e

    worker = threading.Thread(target=work, name=name, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise TimeoutError(f"not done in {seconds:g}s")
    if "error" in box:
        raise box["error"]
    return box["value"]
