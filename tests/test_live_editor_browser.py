"""The code editor in the live page, in headless Chromium: typing and Ctrl+Enter write the script
and a new program goes live (/status); a broken save is underlined and the old program plays on;
Alt+drag on a number sends each value to the running program with no recompile (the program
number stays, /status shows the value) and writes the file on release; Ctrl+Shift+H hides the
code.

Set GENCODE_LIVE_SCREENSHOT=FILE.png to keep a screenshot of the page (docs/ has one).
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from runtime_support import live_status as status
from runtime_support import write_script
from test_editor_browser import (
    cursor_at,
    editor_text,
    key,
    mouse,
    screenshot_and_hide_code,
    until,
)
from test_watch_browser import browser_marks, chromium_session

from gencode.live.session import LiveSession

pytestmark = browser_marks()
SCRIPT = (
    'model "tiny.safetensors"\n'
    "size 16\n"
    'a = load "red.png"\n'
    'b = load "blue.png"\n'
    "blend a b amount (0.25 + 0.01 * sin(t))\n"
)


def test_the_live_page_editor_evaluates_underlines_drags_and_hides(tiny_dir: Path) -> None:
    Image.new("RGB", (16, 16), (220, 30, 30)).save(tiny_dir / "red.png")
    Image.new("RGB", (16, 16), (40, 60, 230)).save(tiny_dir / "blue.png")
    path = write_script(tiny_dir, SCRIPT)
    with chromium_session() as page, LiveSession(path, fps=8, device="cpu") as live:
        until("the first program", lambda: status(live)["program"] == 1, timeout=60)
        page.open(live.url)
        until(
            "the editor",
            lambda: page.evaluate("!!(window.gencodeEditor && window.gencodeEditor.view)"),
        )
        assert editor_text(page) == SCRIPT

        # Type a new amount and press Ctrl+Enter: the file changes and a new program goes live.
        cursor_at(page, "amount (0.25")
        for _ in range(4):
            key(page, "Backspace", "Backspace", 8)
        page.send("Input.insertText", {"text": "0.75"})
        key(page, "Enter", "Enter", 13, modifiers=2)  # Ctrl
        until("the file written", lambda: "amount (0.75 " in path.read_text())
        until("a new program", lambda: (s := status(live))["program"] > 1 and s["ok"])
        program = status(live)["program"]

        # A broken save: underlined where the checker says; the program before plays on.
        cursor_at(page, "0.01 * sin(t))\n")
        page.send("Input.insertText", {"text": "difuse 3\n"})
        key(page, "Enter", "Enter", 13, modifiers=2)
        mark = until(
            "an underlined error",
            lambda: page.evaluate(
                "(document.querySelector('#editor .cm-lintRange-error') || {}).textContent"
            ),
        )
        assert mark == "difuse"
        broken = until("the error in /status", lambda: (s := status(live))["error"] and s)
        assert "unknown op 'difuse'" in broken["error"] and broken["program"] == program
        page.evaluate(
            "(() => { const v = window.gencodeEditor.view; const d = v.state.doc.toString(); "
            "const i = d.indexOf('difuse 3\\n'); v.dispatch({changes: {from: i, to: i + 9}}); })()"
        )
        key(page, "Enter", "Enter", 13, modifiers=2)
        until("the error gone", lambda: (s := status(live))["ok"] and s["program"] == program)

        # Alt+drag 0.01: each value reaches the running program with no recompile.
        at = cursor_at(page, "+ 0.0")
        frame = status(live)["frame"]
        mouse(page, "mousePressed", at["x"], at["y"])
        for dx in (4, 8, 12):  # 4 px a step of 0.01: 0.02, 0.03, 0.04
            mouse(page, "mouseMoved", at["x"] + dx, at["y"])
        dragged = until(
            "the dragged value", lambda: (s := status(live))["numbers"] == {"5:26": 0.04} and s
        )
        assert dragged["program"] == program  # the same program: no parse, no check, no swap
        until("a frame with it", lambda: status(live)["frame"] > frame + 1)
        assert "0.01 * sin" in path.read_text()  # not written while dragging
        mouse(page, "mouseReleased", at["x"] + 12, at["y"])
        until("the dragged value written", lambda: "0.04 * sin" in path.read_text())
        until(
            "the file live", lambda: (s := status(live))["program"] > program and not s["numbers"]
        )
        assert editor_text(page) == path.read_text()

        screenshot_and_hide_code(page, "GENCODE_LIVE_SCREENSHOT")
