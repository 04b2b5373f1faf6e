"""Watch-page bugs found in the live-coding tryout, each in headless Chromium: a seventh tab loads
(one WebSocket per page, not an event stream), a restarted watcher's frames replace the old
session's at once (session ids), the perform view shows a small dot during an error, and every
page runs its loops on one clock (the server's), so two views show the same frame."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PIL import Image
from runtime_support import write_script
from test_watch_browser import PAGE_STATE, Chromium, browser, browser_marks, shows  # noqa: F401

from gencode.watch import Live

pytestmark = browser_marks(240)
RED, GREEN, BLUE = (220, 30, 30), (30, 200, 60), (40, 60, 230)
HEAD = 'model "tiny.safetensors"\n'
CLOCKED = """(() => { const t = [...tiles.values()][0]; const n = t.images.length;
  return {offset, n, drawn: t.drawn, due: Math.floor((clock() / 1000) * t.fps) % n}; })()"""


@pytest.fixture
def folder(tiny_dir: Path) -> Path:
    for name, rgb in (("red.png", RED), ("green.png", GREEN), ("blue.png", BLUE)):
        Image.new("RGB", (16, 16), rgb).save(tiny_dir / name)
    return tiny_dir


def front(browser: Chromium, session: str) -> None:  # noqa: F811
    """Talk to this tab, brought to the front (a hidden tab neither paints nor decodes)."""
    browser.session = session
    browser.send("Page.bringToFront")
    time.sleep(0.05)


def until(browser: Chromium, want, what: str, expression: str = PAGE_STATE, timeout=30.0):  # noqa: F811
    end, state = time.monotonic() + timeout, None
    while time.monotonic() < end:
        state = browser.evaluate(expression)
        if state is not None and want(state):
            return state
        time.sleep(0.05)
    extra = browser.evaluate(
        "JSON.stringify({session, shown, wanted, err: window.__lastLoadError})"
    )
    raise AssertionError(f"page never showed {what}; last state: {state} {extra}")


def test_a_seventh_tab_loads_and_a_restarted_session_replaces_the_old_frames(
    folder: Path,
    browser: Chromium,  # noqa: F811
) -> None:
    path = write_script(folder, HEAD + 'load "red.png" as frame\n')
    with Live(path, folder / "out", debounce=0.05) as live:
        port = live.server.port
        sessions = []
        for _ in range(7):  # six event streams would hold every connection the browser allows
            browser.open(live.url)
            sessions.append(browser.session)
        until(browser, shows(RED), "the seventh tab's frame")
        for colour, image in ((GREEN, "green"), (BLUE, "blue"), (RED, "red")):
            path.write_text(HEAD + f'load "{image}.png" as frame\n', encoding="utf-8")
            until(browser, shows(colour), f"{image} in the seventh tab")
        front(browser, sessions[0])
        assert until(browser, shows(RED), "red in the first tab")["generation"] == 4
    path.write_text(HEAD + 'load "green.png" as frame\n', encoding="utf-8")
    with Live(path, folder / "out", port=port, debounce=0.05):  # restarted: generation 1
        state = until(browser, shows(GREEN), "the new session's frame in an open tab")
        assert state["generation"] == 1


def test_the_perform_view_flags_errors_and_every_page_shares_one_clock(
    folder: Path,
    browser: Chromium,  # noqa: F811
) -> None:
    loop = 'fps 2\na = load "red.png"\nb = load "blue.png"\ninterpolate image a b 6 as frame\n'
    path = write_script(folder, HEAD + loop)
    with Live(path, folder / "out", debounce=0.05) as live:
        browser.open(live.url)
        normal = browser.session
        until(browser, lambda s: s.get("generation") == 1, "the sequence")
        time.sleep(1.3)  # the second page starts later: its own clock would be out of step
        browser.open(live.url + "?view=perform")
        perform = browser.session
        until(browser, lambda s: s.get("generation") == 1, "the sequence (perform view)")
        # Both pages read the server's clock: their offsets agree to within network delay (a
        # page-local clock would be 1.3 s apart), and each shows the frame its clock names
        # (or the one before, when the read lands between a tick and its paint).
        readings = []
        for session in (normal, perform):
            front(browser, session)
            readings.append(browser.evaluate(CLOCKED))
        (a, b) = readings
        assert abs(a["offset"] - b["offset"]) < 250, f"the two views are out of step: {readings}"
        for reading in readings:
            due, n = reading["due"], reading["n"]
            assert reading["drawn"] in (due, (due - 1) % n), f"a view is off its clock: {reading}"
        path.write_text(HEAD + loop + "difuse 3\n", encoding="utf-8")
        dot = "getComputedStyle(document.getElementById('indicator')).display"
        until(browser, lambda d: d == "block", "the error dot", dot)
        overlay = "getComputedStyle(document.getElementById('overlay')).display"
        assert browser.evaluate(overlay) == "none"  # the projector shows frames, not text
        path.write_text(HEAD + loop, encoding="utf-8")
        until(browser, lambda d: d == "none", "the dot gone after the fix", dot)
