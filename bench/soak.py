"""A live set played for real: `gencode live` for --minutes with a save every --every seconds,
cycling through what a performer does (a number moved, a prompt changed, a broken save, an empty
save, the file renamed away and back, a missing include, a fix), an MJPEG reader on /stream.mjpg
the whole time (what OBS does), and the set recorded. It checks the picture never stopped and
memory stayed flat.

    python bench/soak.py [--minutes 30] [--every 15] [--size 128] [--fps 12] [--threads 1]

Figures: frames shown and dropped, the longest gap between two pictures (in frame periods) over
the whole set and around swaps, programs that went live, errors reported, MJPEG frames read by
the client, resident memory after the first minute and at the end, and the set log's size. Last
line: every figure.
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
import urllib.request
from functools import partial
from pathlib import Path

import torch
from _common import workdir
from live import Gaps

from gencode.live.engine import LIVE_CACHE
from gencode.live.session import LiveSession

HEAD = 'model "model.safetensors"\nseed 7\nfps {fps}\nsteps 4\nstrength 0.5\n'
BODY = 'zoom {zoom}\nrotate 0.5\nanimate "{prompt}"\n'
PROMPTS = ("dunes at dusk", "ocean at night", "lake with mist at dawn", "city in the snow at night")


def rss_mib() -> float:
    text = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", text).group(1)) / 1024  # type: ignore[union-attr]


class MjpegReader:
    """Reads /stream.mjpg as a video source would, counting the JPEG parts."""

    def __init__(self, url: str):
        self.url, self.parts, self.stopped = url, 0, False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        with urllib.request.urlopen(self.url + "stream.mjpg", timeout=30) as r:
            while not self.stopped:
                line = r.readline()
                if not line:
                    return
                if line.lower().startswith(b"content-length:"):
                    n = int(line.split(b":")[1])
                    r.readline()  # the blank line after the part's headers
                    r.read(n)
                    self.parts += 1


def edits(script: Path, fps: int):
    """An endless cycle of (what, action) a performer does to the script over a set."""
    include, away = script.parent / "look.gen", script.with_suffix(".bak")
    k = 0
    while True:
        k += 1
        body = BODY.format(zoom=1.02 + 0.001 * (k % 9), prompt=PROMPTS[k % len(PROMPTS)])
        good = HEAD.format(fps=fps) + body
        write = script.write_text
        yield "number", partial(write, good.replace("rotate 0.5", f"rotate {k % 3}"))
        yield "prompt", partial(write, good)
        yield "broken", partial(write, good + "bogus\n")
        yield "empty", partial(write, "")
        yield "fixed", partial(write, good)
        yield "renamed", partial(script.rename, away)
        yield "back", partial(away.rename, script)
        yield "missing include", partial(write, 'include "look.gen"\n' + good)
        yield "include made", partial(include.write_text, "steps 4\n")
        yield "include gone", partial(_both, include.unlink, partial(write, good))


def _both(*actions) -> None:
    for act in actions:
        act()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--minutes", type=float, default=30.0)
    p.add_argument("--every", type=float, default=15.0, help="seconds between saves")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--fps", type=int, default=12)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--random", action="store_true", help="a random-weight UNet, not scenes")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    folder = workdir(a.random)
    script = folder / "set.gen"
    script.write_text(HEAD.format(fps=a.fps) + BODY.format(zoom=1.02, prompt=PROMPTS[0]))
    record = folder / "soak"
    kinds: dict[str, int] = {}
    swaps: list[float] = []
    with LiveSession(script, device="cpu", size=(a.size, a.size), record=record) as live:
        engine = live.engine
        while engine.frame < 3:
            time.sleep(0.05)
        pictures, reader = Gaps(engine), MjpegReader(live.url)
        t0 = time.monotonic()
        end = t0 + a.minutes * 60
        rss: list[tuple[float, float]] = []  # (minutes, MiB) at each save
        for what, act in edits(script, a.fps):
            now = time.monotonic()
            if now >= end:
                break
            rss.append(((now - t0) / 60, rss_mib()))
            before = engine.programs
            act()
            kinds[what] = kinds.get(what, 0) + 1
            time.sleep(min(a.every, max(end - time.monotonic(), 0)))
            if engine.programs > before:
                swaps.append(time.monotonic())
        status = engine.status()
        reader.stopped = True
        pictures.stop()
        rss_end = rss_mib()
    period = 1.0 / a.fps
    longest = pictures.longest / period
    frames = len(pictures.times) - 1
    log = json.loads(record.with_suffix(".set.json").read_text())
    errors = len(log["errors"])
    log_kib = record.with_suffix(".set.json").stat().st_size / 1024
    print(f"{a.minutes:g} min at {a.size} px, {a.fps} fps: {frames} pictures, "
          f"{status['dropped']} dropped, {status['program']} programs, {errors} errors reported")  # fmt: skip
    print(f"saves: {kinds}")
    rss_1 = next((m for t, m in rss if t >= 1), rss_end)
    half = [m for t, m in rss if t >= a.minutes / 2]
    print(f"MJPEG client read {reader.parts} frames; RSS {rss_1:.0f} MiB after 1 min, "
          f"{half[0] if half else rss_end:.0f} MiB at half time, {rss_end:.0f} MiB at the end "
          f"(the live cache is bounded at {LIVE_CACHE >> 20} MiB); set log {log_kib:.0f} KiB")  # fmt: skip
    by_minute, last = [], -1.0
    for t, m in rss:
        if t - last >= 1:
            by_minute.append(f"{m:.0f}")
            last = t
    print("RSS, a minute apart (MiB): " + " ".join(by_minute))
    print(
        f"soak {a.minutes:g} min {a.size}px@{a.fps}: {frames} pictures ({frames / (a.minutes * 60):.1f}/s), "
        f"dropped {status['dropped']}, longest gap {longest:.1f} periods, programs {status['program']}, "
        f"saves {sum(kinds.values())}, errors {errors}, mjpeg {reader.parts}, "
        f"RSS {rss_1:.0f}->{half[0] if half else rss_end:.0f}->{rss_end:.0f} MiB"
    )


if __name__ == "__main__":
    main()
