"""The live preview in a real browser: headless Chromium (Debian's `chromium`) shows a frame, then
the frame of an atomic-rename save without a reload, then the error overlay over the last good
frame after a broken save, then the frame of the fixed save; then a sequence loops, and the
performance view shows frames only.

Chromium is driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: JSON
messages separated by NUL bytes on fds 3 and 4), so no websocket client and no port are needed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from runtime_support import write_script

from gencode.watch import Live

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)


def browser_marks(timeout: int = 180) -> list:
    """The marks of every browser test module: skipped without Debian's chromium, one torch
    thread, and a timeout (a page that never shows something fails, it does not hang CI)."""
    return [
        pytest.mark.skipif(
            CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)"
        ),
        pytest.mark.usefixtures("one_thread"),
        pytest.mark.timeout(timeout),
    ]


pytestmark = browser_marks()
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1000,800",
    "--remote-debugging-pipe",
]
RED, GREEN, BLUE = (220, 30, 30), (30, 200, 60), (40, 60, 230)

# What the page shows: the first canvas's centre pixel, whether it is on top at that point
# (not covered), the generation on screen, and the error overlay.
PAGE_STATE = """(() => {
  const c = document.querySelector('#grid canvas');
  const overlay = document.getElementById('overlay');
  const out = {
    generation: Number(document.getElementById('grid').dataset.generation),
    overlay: !overlay.hidden && getComputedStyle(overlay).display !== 'none',
    error: document.getElementById('error').textContent,
    marker: window.__testMarker || null,
  };
  if (c && c.width) {
    const px = c.getContext('2d').getImageData(c.width >> 1, c.height >> 1, 1, 1).data;
    const r = c.getBoundingClientRect();
    const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    out.rgb = [px[0], px[1], px[2]];
    out.visible = r.width >= 100 && r.height >= 100 && top === c;
  }
  return out;
})()"""


PERFORM_STATE = """(() => {
  const r = document.querySelector('#grid canvas').getBoundingClientRect();
  return {
    perform: document.body.classList.contains('perform'),
    url: location.href,
    bar: getComputedStyle(document.getElementById('bar')).display,
    fills: r.width >= innerWidth * 0.95 && r.height >= innerHeight * 0.95,
  };
})()"""


class Chromium:
    """A headless Chromium with one page, driven over the DevTools protocol on a pipe."""

    def __init__(self, profile: Path):
        to_child, self._cmd = os.pipe()  # we write commands; Chromium reads fd 3
        self._out, from_child = os.pipe()  # Chromium writes replies and events on fd 4
        ends = [_high(fd) for fd in (to_child, from_child)]  # clear of 3 and 4 before dup2

        def fds() -> None:
            os.dup2(ends[0], 3)
            os.dup2(ends[1], 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=fds,
            pass_fds=(3, 4),
        )
        for fd in (to_child, from_child, *ends):
            os.close(fd)
        self._next, self._replies, self._cond = 0, {}, threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        self.session = ""

    def _read(self) -> None:
        buf = b""
        while chunk := _read_some(self._out):
            buf += chunk
            *messages, buf = buf.split(b"\0")
            for raw in messages:
                msg = json.loads(raw)
                if "id" in msg:
                    with self._cond:
                        self._replies[msg["id"]] = msg
                        self._cond.notify_all()

    def send(self, method: str, params: dict | None = None, timeout: float = 30) -> dict:
        """One DevTools command; its result (raises on a protocol error)."""
        with self._cond:
            self._next += 1
            n = self._next
        msg: dict[str, Any] = {"id": n, "method": method, "params": params or {}}
        if self.session:
            msg["sessionId"] = self.session
        os.write(self._cmd, json.dumps(msg).encode() + b"\0")
        with self._cond:
            if not self._cond.wait_for(lambda: n in self._replies, timeout):
                raise TimeoutError(f"no reply to {method} in {timeout}s")
            reply = self._replies.pop(n)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def open(self, url: str) -> None:
        target = self.send("Target.createTarget", {"url": url})["targetId"]
        attached = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})
        self.session = attached["sessionId"]

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        return result["result"].get("value")

    def close(self) -> None:
        for fd in (self._cmd, self._out):
            try:
                os.close(fd)
            except OSError:
                pass
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _read_some(fd: int) -> bytes:
    try:
        return os.read(fd, 1 << 16)
    except OSError:  # closed by `close()`
        return b""


def _high(fd: int) -> int:
    import fcntl

    return fcntl.fcntl(fd, fcntl.F_DUPFD, 10)


@pytest.fixture
def browser() -> Iterator[Chromium]:
    with chromium_session() as chromium:
        yield chromium


@contextlib.contextmanager
def chromium_session() -> Iterator[Chromium]:
    """A headless Chromium on a fresh profile, closed afterwards."""
    # Chromium's helpers may still be writing the profile as it closes: never fail the test on that
    with tempfile.TemporaryDirectory(
        prefix="gencode-chromium-", ignore_cleanup_errors=True
    ) as profile:
        chromium = Chromium(Path(profile))
        try:
            yield chromium
        finally:
            chromium.close()


def wait_page(browser: Chromium, want, what: str, timeout: float = 30) -> dict:
    """Poll the page's state until `want(state)`; fail with the last state seen."""
    end, state = time.monotonic() + timeout, None
    while time.monotonic() < end:
        state = browser.evaluate(PAGE_STATE)
        if state and want(state):
            return state
        time.sleep(0.05)
    raise AssertionError(f"page never showed {what}; last state: {state}")


def shows(rgb: tuple[int, int, int]):
    """A predicate: the frame on screen is visible and its centre is `rgb`."""

    def want(s: dict) -> bool:
        if not s.get("visible"):  # no canvas yet, or covered
            return False
        return max(abs(a - b) for a, b in zip(s["rgb"], rgb, strict=True)) <= 3

    return want


def test_the_page_follows_saves_errors_and_recovery(tiny_dir: Path, browser: Chromium) -> None:
    for name, rgb in (("red.png", RED), ("green.png", GREEN), ("blue.png", BLUE)):
        Image.new("RGB", (16, 16), rgb).save(tiny_dir / name)
    head = 'model "tiny.safetensors"\n'
    path = write_script(tiny_dir, head + 'load "red.png" as frame\n')
    with Live(path, tiny_dir / "out", debounce=0.05) as live:
        browser.open(live.url)
        first = wait_page(browser, shows(RED), "frame A (red)")
        assert not first["overlay"]
        browser.evaluate("window.__testMarker = 'same page'")  # a reload would drop it

        tmp = tiny_dir / ".sketch.gen.new"  # an atomic save: write a temp file, rename it over
        tmp.write_text(head + 'load "green.png" as frame\n', encoding="utf-8")
        os.replace(tmp, path)
        state = wait_page(browser, shows(GREEN), "the renamed save's frame (green)")
        assert state["marker"] == "same page" and state["generation"] == 2

        path.write_text(head + 'load "blue.png" as frame\ndifuse 3\n', encoding="utf-8")
        state = wait_page(browser, lambda s: s["overlay"], "the error overlay")
        assert "sketch.gen:3:1: error: unknown op 'difuse'" in state["error"]
        assert shows(GREEN)(state), f"the last good frame is not visible: {state}"

        path.write_text(head + 'load "blue.png" as frame\n', encoding="utf-8")
        state = wait_page(
            browser, lambda s: shows(BLUE)(s) and not s["overlay"], "the fixed frame (blue)"
        )
        assert state["marker"] == "same page" and live.session.renders == 3

        loop = 'fps 10\na = load "red.png"\nb = load "blue.png"\ninterpolate image a b 5 as frame\n'
        path.write_text(head + loop, encoding="utf-8")
        wait_page(browser, lambda s: s["generation"] == 4, "the sequence")
        seen = set()
        for _ in range(12):  # 1.2 s of a 0.5 s loop
            seen.add(tuple(browser.evaluate(PAGE_STATE)["rgb"]))
            time.sleep(0.1)
        assert len(seen) >= 3, f"the sequence is not looping: {seen}"  # 5 frames at 10 fps

        browser.evaluate("document.dispatchEvent(new KeyboardEvent('keydown', {key: 'p'}))")
        view = browser.evaluate(PERFORM_STATE)
        assert view["perform"] and view["url"].endswith("?view=perform")
        assert view["bar"] == "none" and view["fills"], view  # frames only, filling the screen
