"""The instrument's latency, as far as the watch page allows: a slider step → its frame, against
the same change saved to disk; and an OSC message → the signal's new value.

    python bench/instrument.py [--steps 4] [--drags 20] [--threads 1] [--random]

A `gencode watch` session (this process) renders a 32x32 still of the scenes model (or a
random-weight UNet). (a) Slider: each step POSTs /api/number as the page's Alt+drag does (a new
guidance, so one diffusion runs), timed to the status event announcing its frames and the first
PNG fetched; no file is written, nothing is parsed. (b) The same guidance change saved to the file
(debounce 100 ms, as the CLI's), timed the same way. (c) OSC: a python-osc client sends a value
to the bank's UDP server on 127.0.0.1; timed until `SignalBank.read` returns it moving. Frames
that follow OSC are the live engine's (gencode live), measured by its own benchmark.
Prints p50s on the last line, and how much of each is not the render itself.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import statistics
import time

import torch
from _common import workdir
from watch_latency import Announcements

from gencode.signals.bank import SignalBank
from gencode.signals.names import key
from gencode.signals.osc import OscServer
from gencode.watch import Live

SCRIPT = 'model "model.safetensors"\nsize 32\nsteps {steps}\nseed 7\ndiffuse "dunes" guidance {g} as still\n'
FRAME_PERIOD = 1 / 12  # seconds, at the default fps


def slider(live: Live, news: Announcements, values: list[str]) -> list[float]:
    """POST each value as a drag step; seconds to its frames announced and first PNG fetched."""
    line = SCRIPT.splitlines()[4]
    col = line.index("guidance ") + len("guidance ") + 1
    conn = http.client.HTTPConnection("127.0.0.1", live.server.port, timeout=60)
    times = []
    for text in values:
        want = live.session.renders + 1
        body = json.dumps(
            {"line": 5, "col": col, "value": float(text), "text": text, "final": False}
        )
        t0 = time.perf_counter()
        conn.request("POST", "/api/number", body, {"Content-Type": "application/json"})
        reply = json.loads(conn.getresponse().read())
        assert reply["ok"], reply
        news.wait(want)
        conn.request("GET", f"/frames/{want}/0/0.png")
        assert conn.getresponse().read().startswith(b"\x89PNG")
        times.append(time.perf_counter() - t0)
        time.sleep(0.05)
    return times


def saves(live: Live, news: Announcements, texts: list[str]) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", live.server.port, timeout=60)
    times = []
    for text in texts:
        want = live.session.renders + 1
        t0 = time.perf_counter()
        live.session.path.write_text(text, encoding="utf-8")
        news.wait(want)
        conn.request("GET", f"/frames/{want}/0/0.png")
        assert conn.getresponse().read().startswith(b"\x89PNG")
        times.append(time.perf_counter() - t0)
        time.sleep(0.05)
    return times


def osc(messages: int) -> list[float]:
    """Seconds from an OSC send to the bank reading the new value."""
    from pythonosc.udp_client import SimpleUDPClient

    k = key("osc", "/x")
    with SignalBank() as bank:
        server = OscServer(bank, 0)
        bank.add(server)
        client = SimpleUDPClient("127.0.0.1", server.port)
        times, t = [], 0.0
        for i in range(messages):
            t0 = time.perf_counter()
            client.send_message("/x", float(i + 1))
            while True:
                t += 10.0  # frames far apart: the smoothed value is the value received
                if bank.read([k], t)[k] > i + 0.5:
                    break
                time.sleep(0.0002)
            times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--drags", type=int, default=20, help="slider steps, and saves to compare")
    p.add_argument("--steps", type=int, default=4, help="sampler steps (live frames use few)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--random", action="store_true", help="a random-weight UNet, not scenes")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    folder = workdir(args.random)
    path = folder / "still.gen"
    path.write_text(SCRIPT.format(steps=args.steps, g="3.00"), encoding="utf-8")
    renders: list[float] = []  # the session's own render times, from its log lines

    def log(level: str, text: str) -> None:
        if m := re.match(r"render \d+: ([\d.]+)s", text):
            renders.append(float(m.group(1)))

    with Live(path, debounce=0.1, log=log) as live:
        news = Announcements(live.server.port)
        news.wait(1, timeout=120)
        del renders[:]
        a = slider(live, news, [f"{3 + (i + 1) / 100:.2f}" for i in range(args.drags)])
        rendering = list(renders)
        texts = [
            SCRIPT.format(steps=args.steps, g=f"{4 + (i + 1) / 100:.2f}") for i in range(args.drags)
        ]
        b = saves(live, news, texts)
        assert live.server.httpd.editor.rebinds == args.drags and live.session.failures == 0
    c = osc(args.drags * 5)
    ms = lambda xs: statistics.median(xs) * 1000  # noqa: E731
    print(
        f"{args.drags} drags and saves, 32x32 {args.steps} steps, {args.threads} thread(s), "
        f"model: {'random' if args.random else 'scenes'}"
    )
    print(f"frame period at 12 fps: {FRAME_PERIOD * 1000:.0f} ms (target: p50 within 2)")
    print(f"the render itself (one {args.steps}-step diffusion), p50: {ms(rendering):.0f} ms")
    r = ms(rendering)
    print(
        f"p50: slider step → frame fetched {ms(a):.0f} ms ({ms(a) - r:.0f} ms beyond the render); "
        f"the same edit saved → frame {ms(b):.0f} ms ({ms(b) - r:.0f} ms beyond); "
        f"OSC → signal {ms(c):.2f} ms"
    )


if __name__ == "__main__":
    main()
