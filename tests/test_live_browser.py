"""The live page in headless Chromium (Debian's `chromium`): frames arrive over the WebSocket and
are painted at the stream's pace (the page measures its own fps), a save swaps in without a
reload, and the perform view shows the picture alone with a small indicator during an error."""

from __future__ import annotations

import time

from runtime_support import write_script
from test_watch_browser import browser, browser_marks  # noqa: F401 — the shared fixture

from gencode.live.session import LiveSession

pytestmark = browser_marks()
SCRIPT = 'model "tiny.safetensors"\nseed 5\nsteps 4\nstrength 0.5\nzoom 1.05\nanimate "dunes"\n'
STATE = """(() => {
  const s = window.liveStats || {};
  const dot = document.getElementById('indicator');
  const c = document.getElementById('stream').getBoundingClientRect();
  return {frames: s.frames, fps: s.fps, program: s.program, ok: s.ok, session: s.session,
          indicator: !dot.hidden, perform: document.body.classList.contains('perform'),
          bar: getComputedStyle(document.getElementById('bar')).display,
          fills: Math.max(c.width / innerWidth, c.height / innerHeight) > 0.95};
})()"""


def wait(browser, want, what: str, timeout: float = 30) -> dict:  # noqa: F811
    end, state = time.monotonic() + timeout, None
    while time.monotonic() < end:
        state = browser.evaluate(STATE)
        if state and want(state):
            return state
        time.sleep(0.05)
    raise AssertionError(f"page never showed {what}; last state: {state}")


def test_the_page_streams_swaps_and_flags_errors_in_the_perform_view(browser, tiny_dir):  # noqa: F811
    script = write_script(tiny_dir, SCRIPT)
    with LiveSession(script, fps=8, device="cpu") as live:
        browser.open(live.url + "?view=perform")
        first = wait(browser, lambda s: (s.get("frames") or 0) >= 3, "frames")
        assert first["perform"] and first["bar"] == "none" and first["fills"]
        assert not first["indicator"] and first["session"] == live.engine.session
        time.sleep(2)
        steady = browser.evaluate(STATE)
        assert steady["frames"] >= first["frames"] + 4 and steady["fps"] >= 2  # painted, live
        script.write_text(SCRIPT + "bogus\n", encoding="utf-8")
        broken = wait(browser, lambda s: s["indicator"], "the error indicator")
        assert broken["ok"] is False and broken["program"] == 1
        frames = broken["frames"]
        wait(browser, lambda s: s["frames"] >= frames + 3, "frames during the error")
        script.write_text(SCRIPT.replace("dunes", "ocean"), encoding="utf-8")
        t_save = time.time() * 1000
        fixed = wait(browser, lambda s: s["program"] == 2 and not s["indicator"], "the swap")
        assert fixed["ok"] is True
        # The page notes when it first painted each program (bench/live.py times swaps by it).
        painted = browser.evaluate("window.liveStats.firstPainted")
        assert set(painted) >= {"1", "2"} and painted["1"] < t_save < painted["2"]
        assert painted["2"] < time.time() * 1000
