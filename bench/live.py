"""`gencode live` figures: achieved fps and frame times by size and threads, hot-swap latency
from a save to the new program's first frame painted in headless Chromium, and the frames
dropped (and the longest gap) across the swaps.

    python bench/live.py [--sizes 128,256] [--threads 1,2] [--seconds 4] [--swaps 20] [--random]

The stream is an endless feedback `animate` (4 steps, strength 0.5: two denoiser calls a frame)
of the scenes model (or a random-weight UNet of its config), asked for 24 fps; real time is real
time, so a slow frame drops the clock's frames in between. The swaps run at the model's native
size and 12 fps, alternating a numbers-only edit (the zoom) and a prompt edit, each timed from
just before the write to the first frame of the new program painted by the page (polled every
10 ms over the DevTools protocol). Last line: every figure.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch
from _common import workdir

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from gencode.live.engine import Engine  # noqa: E402
from gencode.live.session import LiveSession  # noqa: E402

SCRIPT = """model "model.safetensors"
seed 7
fps {fps}
steps 4
strength 0.5
zoom {zoom}
rotate 0.5
animate "{prompt}"
"""
PROMPTS = ("dunes at dusk", "ocean at night")


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def throughput(folder: Path, size: int, threads: int, seconds: float) -> dict:
    """Achieved fps and frame times of a stream asked for 24 fps at size x size."""
    torch.set_num_threads(threads)
    script = folder / "fps.gen"
    script.write_text(SCRIPT.format(fps=24, zoom=1.02, prompt=PROMPTS[0]), encoding="utf-8")
    engine = Engine(script, size=(size, size), device="cpu").start()
    try:
        while engine.frame < 1:  # the model loads and the first frames warm up
            time.sleep(0.01)
        f0, d0, t0, n0 = engine.frame, engine.dropped, time.monotonic(), len(engine.step_seconds)
        while time.monotonic() - t0 < seconds or len(engine.step_seconds) - n0 < 2:
            time.sleep(0.01)
        shown = len(engine.step_seconds) - n0
        elapsed = time.monotonic() - t0
        steps = list(engine.step_seconds)[n0:]
        return {
            "fps": shown / elapsed,
            "p50": pct(steps, 0.5) * 1000,
            "p95": pct(steps, 0.95) * 1000,
            "dropped": engine.dropped - d0,
            "frames": engine.frame - f0,
        }
    finally:
        engine.stop()


def swaps(folder: Path, n: int) -> dict:
    """Save → new program's first frame painted in Chromium; drops and the longest gap."""
    from test_watch_browser import CHROMIUM, Chromium

    if CHROMIUM is None:
        raise SystemExit("needs Debian's chromium for the swap latency (apt-get install chromium)")
    torch.set_num_threads(1)
    script = folder / "swap.gen"
    script.write_text(SCRIPT.format(fps=12, zoom=1.02, prompt=PROMPTS[0]), encoding="utf-8")
    with tempfile.TemporaryDirectory() as profile, LiveSession(script, device="cpu") as live:
        browser = Chromium(Path(profile))
        try:
            browser.open(live.url)
            engine = live.engine
            while (browser.evaluate("(window.liveStats || {}).frames") or 0) < 3:
                time.sleep(0.05)
            gaps = Gaps(engine)
            d0, kinds = engine.dropped, {"number": [], "prompt": []}
            for i in range(n):
                kind = "number" if i % 2 == 0 else "prompt"
                zoom = 1.02 + 0.001 * (i + 1)
                prompt = PROMPTS[(i // 2 + 1) % 2] if kind == "prompt" else PROMPTS[(i // 2) % 2]
                want = engine.programs + 1
                t0 = time.perf_counter()
                script.write_text(SCRIPT.format(fps=12, zoom=zoom, prompt=prompt), encoding="utf-8")
                while (browser.evaluate("(window.liveStats || {}).program") or 0) < want:
                    time.sleep(0.01)
                kinds[kind].append((time.perf_counter() - t0) * 1000)
                time.sleep(0.3)
            gaps.stop()
            return {"kinds": kinds, "dropped": engine.dropped - d0, "gap": gaps.longest * 12}
        finally:
            browser.close()


class Gaps:
    """The longest time between two consecutive pictures shown."""

    def __init__(self, engine: Engine):
        self.engine, self.longest, self.stopped = engine, 0.0, False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        seen, last = self.engine.frame, time.monotonic()
        while not self.stopped:
            shown = self.engine.wait_frame(seen, timeout=0.5)
            if shown is not None:
                now = time.monotonic()
                self.longest, seen, last = max(self.longest, now - last), shown.frame, now

    def stop(self) -> None:
        self.stopped = True
        self.thread.join(timeout=5)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="128,256")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--swaps", type=int, default=20)
    p.add_argument("--random", action="store_true", help="a random-weight UNet, not scenes")
    args = p.parse_args()
    folder = workdir(args.random)
    parts = []
    for size in (int(s) for s in args.sizes.split(",")):
        for threads in (int(t) for t in args.threads.split(",")):
            r = throughput(folder, size, threads, args.seconds)
            print(f"{size}x{size} {threads} thread(s): {r['fps']:.2f} fps, frame p50 "
                  f"{r['p50']:.0f} ms p95 {r['p95']:.0f} ms, {r['dropped']} dropped")  # fmt: skip
            parts.append(
                f"{size}px/{threads}t {r['fps']:.1f} fps (p50 {r['p50']:.0f} ms, p95 {r['p95']:.0f} ms)"
            )
    s = swaps(folder, args.swaps)
    for kind, ms in s["kinds"].items():
        print(f"swap ({kind} edit): p50 {statistics.median(ms):.0f} ms p95 {pct(ms, 0.95):.0f} ms")
        parts.append(f"swap {kind} p50 {statistics.median(ms):.0f} ms p95 {pct(ms, 0.95):.0f} ms")
    parts.append(
        f"{s['dropped']} frames dropped over {args.swaps} swaps, longest gap {s['gap']:.1f} periods"
    )
    print("; ".join(parts))


if __name__ == "__main__":
    main()
