"""`gencode live` figures: achieved fps and frame times by size and threads, hot-swap latency
from a save to the new program's first frame painted in headless Chromium, the frames dropped
(and the longest gap) across the swaps, the similarity filter on a settled stream, and whether
batching consecutive frames' denoising (StreamDiffusion's stream batch) would pay on this CPU.

    python bench/live.py [--sizes 128,256] [--threads 1,2] [--seconds 4] [--swaps 20]
                         [--swap-size 128] [--swap-fps 12] [--random] [--profile]

`--profile` only steps the stream without its clock and prints the CPU ms of a frame by stage
(compile, warp, colormatch, encode, UNet, decode, JPEG, the rest).

The stream is an endless feedback `animate` (4 steps, strength 0.5: two denoiser calls a frame)
of the scenes model (or a random-weight UNet of its config), asked for 24 fps; real time is real
time, so a slow frame drops the clock's frames in between. Each stream also reports the CPU
time it spent per frame (all threads), which a busy shared machine inflates far less than the
wall clock. The swaps run at `--swap-size` and `--swap-fps` (12; pick a rate the CPU keeps up
with at that size, or every gap is long), alternating a numbers-only edit (the zoom) and a prompt
edit, each timed from just before the write to the first frame of the new program painted by the
page (the page notes that moment; the bench reads it every 50 ms over the DevTools protocol, so
polling does not load the CPU during the swap); the longest gap between two pictures during the
swaps is in frame periods (1 / swap-fps). The filter streams a still prompt with no
motion, `skip_similar 0.98` against none. Last line: every figure.
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
rotate {rotate}
{similar}animate "{prompt}"
"""
PROMPTS = ("dunes at dusk", "ocean at night")


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def script_text(fps: int = 24, zoom: float = 1.02, prompt: str = PROMPTS[0], still=False) -> str:
    """The benchmark's stream; `still`: no motion and the similarity filter on."""
    rotate, similar = (0, 0.98) if still else (0.5, 0)
    if still:
        zoom = 1
    similar_line = f"skip_similar {similar}\n" if similar else ""  # (then older code runs it too)
    return SCRIPT.format(fps=fps, zoom=zoom, rotate=rotate, similar=similar_line, prompt=prompt)


def throughput(folder: Path, size: int, threads: int, seconds: float, still=False) -> dict:
    """Achieved fps, frame times and CPU time per frame of a stream asked for 24 fps."""
    torch.set_num_threads(threads)
    script = folder / "fps.gen"
    script.write_text(script_text(still=still), encoding="utf-8")
    engine = Engine(script, size=(size, size), device="cpu").start()
    try:
        while engine.frame < 1:  # the model loads and the first frames warm up
            time.sleep(0.01)
        f0, d0, n0 = engine.frame, engine.dropped, len(engine.step_seconds)
        r0, t0, c0 = engine.stepper.similar.reused, time.monotonic(), time.process_time()
        while time.monotonic() - t0 < seconds or len(engine.step_seconds) - n0 < 2:
            time.sleep(0.01)
        shown = len(engine.step_seconds) - n0
        elapsed, cpu = time.monotonic() - t0, time.process_time() - c0
        steps = list(engine.step_seconds)[n0:]
        return {
            "fps": shown / elapsed,
            "p50": pct(steps, 0.5) * 1000,
            "p95": pct(steps, 0.95) * 1000,
            "cpu": cpu / max(shown, 1) * 1000,
            "dropped": engine.dropped - d0,
            "frames": engine.frame - f0,
            "reused": (engine.stepper.similar.reused - r0) / max(shown, 1),
        }
    finally:
        engine.stop()


def swaps(folder: Path, n: int, size: int, fps: int = 12) -> dict:
    """Save → new program's first frame painted in Chromium; drops and the longest gap."""
    from test_watch_browser import CHROMIUM, Chromium

    if CHROMIUM is None:
        raise SystemExit("needs Debian's chromium for the swap latency (apt-get install chromium)")
    torch.set_num_threads(1)
    script = folder / "swap.gen"
    script.write_text(script_text(fps), encoding="utf-8")
    with (
        tempfile.TemporaryDirectory() as profile,
        LiveSession(script, device="cpu", size=(size, size)) as live,
    ):
        browser = Chromium(Path(profile))
        try:
            browser.open(live.url)
            engine = live.engine
            while (browser.evaluate("(window.liveStats || {}).frames") or 0) < 3:
                time.sleep(0.05)
            gaps = Gaps(engine)
            d0, kinds = engine.dropped, {"number": [], "prompt": []}
            n0 = len(engine.step_seconds)
            for i in range(n):
                kind = "number" if i % 2 == 0 else "prompt"
                zoom = 1.02 + 0.001 * (i + 1)
                prompt = PROMPTS[(i // 2 + 1) % 2] if kind == "prompt" else PROMPTS[(i // 2) % 2]
                want = engine.programs + 1
                t0 = time.time()
                script.write_text(script_text(fps, zoom, prompt), encoding="utf-8")
                painted = f"(window.liveStats || {{firstPainted: {{}}}}).firstPainted[{want}]"
                # The page notes when it painted each program's first frame: poll it gently, so
                # the polling itself does not take the CPU from the swap it measures.
                while (at := browser.evaluate(painted)) is None:
                    time.sleep(0.05)
                kinds[kind].append(float(at) - t0 * 1000)
                time.sleep(0.3)
            gaps.stop()
            frame = pct(list(engine.step_seconds)[n0:], 0.5) * 1000  # what a swap waits for
            gap = gaps.longest * fps
            return {"kinds": kinds, "dropped": engine.dropped - d0, "gap": gap, "frame": frame}
        finally:
            browser.close()


class Gaps:
    """When each picture was shown (the engine's condition), and the longest time between two."""

    def __init__(self, engine: Engine):
        self.engine, self.times, self.stopped = engine, [time.monotonic()], False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        seen = self.engine.frame
        while not self.stopped:
            shown = self.engine.wait_frame(seen, timeout=0.5)
            if shown is not None:
                self.times.append(time.monotonic())
                seen = shown.frame

    @property
    def longest(self) -> float:
        ts = self.times
        return max((b - a for a, b in zip(ts, ts[1:], strict=False)), default=0.0)

    def stop(self) -> None:
        self.stopped = True
        self.thread.join(timeout=5)


def stream_batch(folder: Path, size: int, threads: int) -> dict | None:
    """Per-frame CPU ms (all threads; the least of 5) of the UNet (one guided evaluation: cond
    and uncond) and the decoder, one frame at a time against two frames in one call: what
    stream batching could save. CPU time, because a busy shared machine swamps the wall clock."""

    def best_time(fn, repeats: int) -> float:
        fn()
        times = []
        for _ in range(repeats):
            c0 = time.process_time()
            fn()
            times.append(time.process_time() - c0)
        return min(times)

    from gencode.models.checkpoint import read_info
    from gencode.models.latent_diffusion import load_latent_diffusion

    path = folder / "model.safetensors"
    if read_info(path).arch != "ldm":
        return None
    torch.set_num_threads(threads)
    m = load_latent_diffusion(path)
    z = torch.randn(1, 4, size // 8, size // 8)
    cond = torch.cat([m.encode_prompt([PROMPTS[0]]), m.encode_prompt([""])])
    t = torch.tensor([500.0])
    with torch.inference_mode():

        def unet(k: int) -> float:
            return best_time(lambda: m.unet(z.repeat(2 * k, 1, 1, 1), t, cond.repeat(k, 1)), 5)

        def decode(k: int) -> float:
            return best_time(lambda: m.to_image(z.repeat(k, 1, 1, 1)), 5)

        u1, u2, d1, d2 = unet(1), unet(2) / 2, decode(1), decode(2) / 2
    return {"unet": (u1 * 1000, u2 * 1000), "decode": (d1 * 1000, d2 * 1000)}


STAGES = {  # where a frame's time goes: function name → stage
    "graph": "compile",
    "warp": "warp",
    "colormatch": "colormatch",
    "to_latent": "encode",
    "sample_euler": "UNet",
    "to_image": "decode",
    "encode_jpeg": "JPEG",
}


def profile(folder: Path, size: int, frames: int = 8) -> str:
    """CPU ms of one frame of the stream (1 thread) by stage, stepped without the clock."""
    import cProfile
    import pstats

    from gencode.live.engine import LIVE_CACHE, encode_jpeg
    from gencode.live.program import load
    from gencode.live.stepper import Stepper, pipeline

    torch.set_num_threads(1)
    script = folder / "profile.gen"
    script.write_text(script_text(), encoding="utf-8")
    program = load(script, forced={"size": [size, size]})
    program.number = 1
    stepper = Stepper(pipeline("cpu", cache_bytes=LIVE_CACHE))
    stepper.begin(program, 0)
    prof = cProfile.Profile(time.thread_time)
    for f in range(frames + 2):  # two to warm up
        if f == 2:
            t0 = time.thread_time()
            prof.enable()
        encode_jpeg(stepper.step(program, f, {}).pixels)
    prof.disable()
    total = (time.thread_time() - t0) / frames * 1000
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    ms = {
        stage: sum(v[3] for k, v in stats.items() if k[2] == name) / frames * 1000
        for name, stage in STAGES.items()
    }
    rest = total - sum(ms.values())
    return f"{size}px {total:.0f} ms: " + ", ".join(
        f"{k} {v:.1f}" for k, v in [*ms.items(), ("rest", rest)]
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="128,256")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--swaps", type=int, default=20)
    p.add_argument("--swap-size", type=int, default=128, help="stream size during the swaps")
    p.add_argument("--swap-fps", type=int, default=12, help="stream fps during the swaps")
    p.add_argument("--random", action="store_true", help="a random-weight UNet, not scenes")
    p.add_argument("--profile", action="store_true", help="only the CPU ms of a frame by stage")
    args = p.parse_args()
    folder = workdir(args.random)
    parts = []
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.profile:
        print("; ".join(profile(folder, size) for size in sizes))
        return
    # The swaps first, in a process no multi-threaded stream has run in yet (as `gencode live`
    # starts): after a 2-thread stream, OpenMP's idle workers took CPU from the 1-thread swaps.
    s = swaps(folder, args.swaps, args.swap_size, args.swap_fps)
    for size in sizes:
        for threads in (int(t) for t in args.threads.split(",")):
            r = throughput(folder, size, threads, args.seconds)
            print(f"{size}x{size} {threads} thread(s): {r['fps']:.2f} fps, frame p50 "
                  f"{r['p50']:.0f} ms p95 {r['p95']:.0f} ms, CPU {r['cpu']:.0f} ms a frame, "
                  f"{r['dropped']} dropped")  # fmt: skip
            parts.append(
                f"{size}px/{threads}t {r['fps']:.1f} fps (p50 {r['p50']:.0f} ms, "
                f"p95 {r['p95']:.0f} ms, CPU {r['cpu']:.0f} ms/frame)"
            )
            b = stream_batch(folder, size, threads)
            if b is not None:
                (u1, u2), (d1, d2) = b["unet"], b["decode"]
                print(f"  stream batch (CPU ms a frame): UNet {u1:.1f} alone, {u2:.1f} batched by "
                      f"2; decoder {d1:.1f} / {d2:.1f}")  # fmt: skip
                parts.append(f"batch-2 UNet {u1:.1f}->{u2:.1f} ms/frame")
    still = throughput(folder, sizes[0], 1, args.seconds, still=True)
    print(f"settled stream at {sizes[0]} px, skip_similar 0.98: {still['fps']:.2f} fps, "
          f"CPU {still['cpu']:.0f} ms a frame, {still['reused']:.0%} of frames reused")  # fmt: skip
    parts.append(
        f"skip_similar {sizes[0]}px {still['fps']:.1f} fps, CPU {still['cpu']:.0f} ms/frame, "
        f"{still['reused']:.0%} reused"
    )
    for kind, ms in s["kinds"].items():
        print(f"swap ({kind} edit) at {args.swap_size} px: p50 {statistics.median(ms):.0f} ms "
              f"p95 {pct(ms, 0.95):.0f} ms")  # fmt: skip
        parts.append(f"swap {kind} p50 {statistics.median(ms):.0f} ms p95 {pct(ms, 0.95):.0f} ms")
    parts.append(
        f"{s['dropped']} frames dropped over {args.swaps} swaps at {args.swap_size} px "
        f"{args.swap_fps} fps "
        f"(frame p50 {s['frame']:.0f} ms meanwhile), longest gap {s['gap']:.1f} periods"
    )
    print("; ".join(parts))


if __name__ == "__main__":
    main()
