"""The instrument's latency on the live stream: a slider step → the first frame showing its value,
and an OSC message → the first frame showing it, in frame periods (target: p50 within 2).

    python bench/instrument.py [--fps 12] [--moves 20] [--size 64] [--threads 1]

A `gencode live` session (this process: engine, server, OSC on 127.0.0.1) streams a blend of two
flat images whose amount is `(0.2 + 0.6 * osc "/amount")`, so each frame's colour says which value
it was made with, and a frame costs little: what is timed is the path (HTTP or UDP → the engine →
the next frame due → shown), not a model. With a model, add its frame time to each figure.
(a) Slider: each move POSTs /api/number as the page's Alt+drag does (the literal 0.2 → 0.2 or
0.5, `final: false`: the engine's fast path, no parse, no check), timed to the first frame shown
in the new colour. (b) OSC: a python-osc client sends /amount 0 or 0.5, timed to the first frame
within 10% of the new colour (OSC values are smoothed over 50 ms, as controllers are).
Prints the p50s on the last line.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

from gencode.live.inputs import InputOptions
from gencode.live.session import LiveSession

RED, BLUE = (255, 0, 0), (0, 0, 255)
SCRIPT = (
    "size {size}\nfps {fps}\n"
    'a = load "red.png"\nb = load "blue.png"\n'
    'blend a b amount (0.2 + 0.6 * osc "/amount")\n'
)
LINE, COLUMN = 5, 19  # the literal 0.2


def blue(amount: float) -> float:
    return 255 * amount


def frame_blue(live: LiveSession, after: int) -> tuple[int, float]:
    """The next frame shown after frame `after`: its index and its blue level."""
    shown = live.engine.wait_frame(after, timeout=10)
    assert shown is not None, "the stream stopped"
    return shown.frame, float(shown.pixels[0, 0, 2])


def until_blue(live: LiveSession, near, t0: float) -> float:
    """Seconds from t0 to the first frame whose blue level satisfies `near`."""
    f = live.engine.frame
    while True:
        f, b = frame_blue(live, f)
        if near(b):
            return time.perf_counter() - t0


def slider(live: LiveSession, moves: int) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", live.server.port, timeout=30)
    times = []
    for i in range(moves):
        text = "0.5" if i % 2 == 0 else "0.2"
        body = {"line": LINE, "col": COLUMN, "value": float(text), "text": text, "final": False}
        t0 = time.perf_counter()
        conn.request("POST", "/api/number", json.dumps(body), {"Content-Type": "application/json"})
        reply = json.loads(conn.getresponse().read())
        assert reply.get("ok"), reply
        want = blue(float(text))
        times.append(until_blue(live, lambda b, w=want: abs(b - w) <= 2, t0))
        time.sleep(0.1)
    return times


def osc(live: LiveSession, moves: int) -> list[float]:
    from pythonosc.udp_client import SimpleUDPClient

    client = SimpleUDPClient("127.0.0.1", live.engine.inputs.osc_port)
    times, now = [], 0.0
    for i in range(moves):
        target = 0.5 if i % 2 == 0 else 0.0
        want, before = blue(0.2 + 0.6 * target), blue(0.2 + 0.6 * now)
        t0 = time.perf_counter()
        client.send_message("/amount", target)
        step = abs(want - before)
        times.append(until_blue(live, lambda b, w=want, s=step: abs(b - w) <= 0.1 * s + 1, t0))
        now = target
        time.sleep(0.3)  # settle
    return times


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fps", type=float, default=12.0)
    p.add_argument("--moves", type=int, default=20, help="slider moves and OSC messages each")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    folder = Path(tempfile.mkdtemp(prefix="gencode-instrument-"))
    for name, rgb in (("red", RED), ("blue", BLUE)):
        Image.new("RGB", (args.size, args.size), rgb).save(folder / f"{name}.png")
    path = folder / "set.gen"
    path.write_text(SCRIPT.format(size=args.size, fps=args.fps), encoding="utf-8")
    options = InputOptions(osc_port=0)
    with LiveSession(path, fps=args.fps, device="cpu", inputs=options) as live:
        frame_blue(live, 2)  # the stream is up
        start = live.engine.status()
        a = slider(live, args.moves)
        assert live.engine.status()["program"] == start["program"], "a slider move recompiled"
        b = osc(live, args.moves)
        steps = list(live.engine.step_seconds)[-args.moves * 8 :]
    period = 1.0 / args.fps
    per = lambda xs: statistics.median(xs) / period  # noqa: E731
    print(
        f"{args.moves} slider moves and {args.moves} OSC messages, {args.size}x{args.size} at {args.fps:g} fps"
    )
    print(
        f"frame period {period * 1000:.0f} ms; a frame takes {statistics.median(steps) * 1000:.1f} ms (p50)"
    )
    print(
        f"slider p95 {statistics.quantiles(a, n=20)[-1] / period:.2f}, OSC p95 {statistics.quantiles(b, n=20)[-1] / period:.2f} periods"
    )
    print(
        f"p50: slider move → frame {per(a):.2f} periods ({statistics.median(a) * 1000:.0f} ms), "
        f"OSC message → frame {per(b):.2f} periods ({statistics.median(b) * 1000:.0f} ms); "
        "target ≤ 2"
    )


if __name__ == "__main__":
    main()
