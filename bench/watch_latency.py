"""Watch-mode latency: from a save on disk to the preview server announcing the new frames.

    python bench/watch_latency.py [--saves 30] [--steps 20] [--threads 1] [--debounce 100] [--random]

A `gencode watch` session (watcher, render session and preview server, in this process) runs
on a 32x32 still of the scenes model (or a random-weight UNet of its config). A client reads the
server's event stream like the page does; each save is timed from just before the write to the
`status` event that carries the new frames. Two kinds of save, many of each: (a) an edit that only
touches an output (its `as` name), (b) an edit that changes one diffusion node (its guidance), so
one 20-step sample runs. The debounce (default 100 ms, as the CLI's) is part of every figure.
Prints p50/p90 of both on its last line (targets: p50 under 150 ms for (a), under 1 s for (b)).
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import threading
import time

import torch
from _common import workdir

from gencode.watch import Live

SCRIPT = """model "model.safetensors"
size 32
steps {steps}
seed 7
diffuse "dunes" guidance {guidance} as {name}
"""


class Announcements:
    """Reads the server's event stream; remembers when each generation was announced."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.conn.request("GET", "/events")
        self.stream = self.conn.getresponse()
        self.seen: dict[int, float] = {}
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        event = ""
        for raw in self.stream:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "status":
                generation = json.loads(line[6:])["generation"]
                with self.cond:
                    self.seen.setdefault(generation, time.perf_counter())
                    self.cond.notify_all()

    def wait(self, generation: int, timeout: float = 60) -> float:
        with self.cond:
            if not self.cond.wait_for(lambda: generation in self.seen, timeout):
                raise TimeoutError(f"generation {generation} never announced")
            return self.seen[generation]


def timed_saves(
    live: Live, news: Announcements, texts: list[str]
) -> tuple[list[float], list[float]]:
    """Save each text in turn; seconds from each save to its frames' announcement, and to the
    first frame's PNG fetched (as the page then does)."""
    path, session = live.session.path, live.session
    frames = http.client.HTTPConnection("127.0.0.1", live.server.port, timeout=60)
    announced, fetched = [], []
    for text in texts:
        want = session.renders + 1
        t0 = time.perf_counter()
        path.write_text(text, encoding="utf-8")
        announced.append(news.wait(want) - t0)
        frames.request("GET", f"/frames/{want}/0/0.png")
        assert frames.getresponse().read().startswith(b"\x89PNG")
        fetched.append(time.perf_counter() - t0)
        deadline = time.monotonic() + 30
        while session.writes < session.renders and time.monotonic() < deadline:
            time.sleep(0.005)  # its files written: the next save meets an idle session
        time.sleep(0.05)
    return announced, fetched


def figures(times: list[float]) -> tuple[float, float]:
    """p50 and p90 in seconds."""
    q = statistics.quantiles(times, n=10, method="inclusive")
    return statistics.median(times), q[8]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--saves", type=int, default=30, help="saves of each kind")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--threads", type=int, default=1, help="torch threads (1: steadiest)")
    p.add_argument("--debounce", type=float, default=100, help="milliseconds, as the CLI's")
    p.add_argument("--random", action="store_true", help="a random-weight UNet, not scenes")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    folder = workdir(args.random)
    path = folder / "still.gen"
    path.write_text(SCRIPT.format(steps=args.steps, guidance=3, name="still"), encoding="utf-8")
    with Live(path, folder / "out", debounce=args.debounce / 1000) as live:
        news = Announcements(live.server.port)
        news.wait(1, timeout=120)
        fmt = {"steps": args.steps}
        outputs = [SCRIPT.format(guidance=3, name=f"still_{i}", **fmt) for i in range(args.saves)]
        a = timed_saves(live, news, outputs)
        diffuse = [
            SCRIPT.format(guidance=f"{3 + (i + 1) / 1000:.3f}", name="still", **fmt)
            for i in range(args.saves)
        ]
        runs_before = live.session.executor.counts["diffuse"]
        b = timed_saves(live, news, diffuse)
        assert live.session.executor.counts["diffuse"] - runs_before == args.saves
        assert live.session.cancelled == 0 and live.session.failures == 0
    (a50, a90), (b50, b90) = figures(a[0]), figures(b[0])
    print(f"{args.saves} saves of each kind, 32x32, {args.steps} steps, {args.threads} thread(s)")
    print(f"debounce {args.debounce:.0f} ms, model: {'random' if args.random else 'scenes'}")
    fa, fb = figures(a[1])[0], figures(b[1])[0]
    print(f"save → first frame's PNG fetched, p50: (a) {fa * 1000:.0f} ms, (b) {fb * 1000:.0f} ms")
    print(
        f"save → new frames announced, p50/p90: (a) output-only edit {a50 * 1000:.0f}/{a90 * 1000:.0f} ms, "
        f"(b) one diffusion node {b50 * 1000:.0f}/{b90 * 1000:.0f} ms "
        "(targets p50 < 150 ms, < 1000 ms)"
    )


if __name__ == "__main__":
    main()
