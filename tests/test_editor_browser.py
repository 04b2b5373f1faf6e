"""The code editor in the watch page, in headless Chromium: typing and Ctrl+Enter write the
script and a new render shows; an error is underlined with its message on hover; completion
offers ops and the model's prompt words; an outside edit shows in the editor; Alt+drag on a
number renders each new value through the fast path and writes the file on release;
Ctrl+Shift+H hides the code.

Set GENCODE_EDITOR_SCREENSHOT=FILE.png to keep a screenshot of the page (docs/ has one).
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from runtime_support import write_script
from test_watch_browser import Chromium, browser_marks, chromium_session, shows, wait_page

from gencode.watch import Live

pytestmark = browser_marks()
RED, BLUE = (220, 30, 30), (40, 60, 230)
SCRIPT = (
    'model "tiny.safetensors"\n'
    'a = load "red.png"\n'
    'b = load "blue.png"\n'
    "blend a b amount 0.25 as frame\n"
)


def mix(amount: float) -> tuple[int, int, int]:
    return tuple(round(r * (1 - amount) + b * amount) for r, b in zip(RED, BLUE, strict=True))


@pytest.fixture
def page() -> Iterator[Chromium]:
    with chromium_session() as chromium:
        yield chromium


def until(what: str, fn, timeout: float = 20):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = fn()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"never saw {what}")


def key(page: Chromium, key: str, code: str, vk: int, modifiers: int = 0) -> None:
    for kind in ("rawKeyDown", "keyUp"):
        page.send(
            "Input.dispatchKeyEvent",
            {
                "type": kind,
                "key": key,
                "code": code,
                "windowsVirtualKeyCode": vk,
                "modifiers": modifiers,
            },
        )


def mouse(page: Chromium, kind: str, x: float, y: float) -> None:
    """A left-button mouse event with Alt held."""
    event = {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1, "modifiers": 1}
    page.send("Input.dispatchMouseEvent", event)


def cursor_at(page: Chromium, needle: str) -> dict:
    """Put the cursor just after `needle` in the editor; the screen point of that position."""
    return page.evaluate(
        f"""(() => {{
      const v = window.gencodeEditor.view, pos = v.state.doc.toString().indexOf({needle!r}) + {len(needle)};
      v.focus(); v.dispatch({{selection: {{anchor: pos}}}});
      const c = v.coordsAtPos(pos); return {{x: c.left, y: (c.top + c.bottom) / 2}};
    }})()"""
    )


def editor_text(page: Chromium) -> str:
    return page.evaluate("window.gencodeEditor.view.state.doc.toString()")


def test_the_editor_evaluates_underlines_completes_and_drags(
    tiny_dir: Path, page: Chromium
) -> None:
    Image.new("RGB", (16, 16), RED).save(tiny_dir / "red.png")
    Image.new("RGB", (16, 16), BLUE).save(tiny_dir / "blue.png")
    path = write_script(tiny_dir, SCRIPT)
    with Live(path, debounce=0.05) as live:
        page.open(live.url)
        wait_page(page, shows(mix(0.25)), "the first render")
        until(
            "the editor",
            lambda: page.evaluate("!!(window.gencodeEditor && window.gencodeEditor.view)"),
        )
        assert editor_text(page) == SCRIPT
        styled = page.evaluate("document.querySelectorAll('#editor .cm-line span').length")
        assert styled >= 8, "no syntax highlighting"

        # Type a new amount and press Ctrl+Enter: the file changes, and a new render shows it.
        cursor_at(page, "amount 0.25")
        for _ in range(4):
            key(page, "Backspace", "Backspace", 8)
        page.send("Input.insertText", {"text": "0.75"})
        key(page, "Enter", "Enter", 13, modifiers=2)  # Ctrl
        until("the file written", lambda: "amount 0.75" in path.read_text())
        wait_page(page, shows(mix(0.75)), "the evaluated render")
        renders = live.session.renders

        # An error: underlined where the checker says, its message on hover.
        cursor_at(page, "blend a b amount 0.75 as frame\n")
        page.send("Input.insertText", {"text": "difuse 3\n"})
        key(page, "Enter", "Enter", 13, modifiers=2)
        mark = until(
            "an underlined error",
            lambda: page.evaluate(
                """(() => { const r = document.querySelector('#editor .cm-lintRange-error');
                if (!r) return null; const b = r.getBoundingClientRect();
                return {x: b.left + b.width / 2, y: b.top + b.height / 2, text: r.textContent}; })()"""
            ),
        )
        assert mark["text"] == "difuse"
        tip = ""
        for _ in range(4):  # a hover that lands while a re-lint redraws the line is re-tried
            for x in (mark["x"] + 300, mark["x"]):  # away, then onto the underline, and stay
                page.send(
                    "Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": mark["y"]}
                )
            try:
                tip = until(
                    "the hover message",
                    lambda: page.evaluate(
                        "(document.querySelector('.cm-tooltip-lint') || {}).textContent || ''"
                    ),
                    timeout=5,
                )
                break
            except AssertionError:
                continue
        assert tip, "never saw the hover message"
        assert "unknown op 'difuse'" in tip and "diffuse" in tip
        assert live.session.renders == renders  # the broken save rendered nothing

        # Completion: ops outside strings, the model's prompt words inside them.
        page.send("Input.insertText", {"text": "diffu"})
        options = until("op completion", lambda: _completions(page))
        assert "diffuse" in options
        key(page, "Escape", "Escape", 27)
        page.send("Input.insertText", {"text": ' "'})
        page.send("Input.insertText", {"text": "du"})
        key(page, " ", "Space", 32, modifiers=2)  # Ctrl+Space asks for completion
        words = until("prompt word completion", lambda: _completions(page))
        assert "dunes" in words or "dune" in words, words

        # An outside edit (another editor, git) shows up; the editor's unsaved text is the user's,
        # so first put it back to the file's text.
        page.evaluate(
            "(() => { const v = window.gencodeEditor.view; "
            f"v.dispatch({{changes: {{from: 0, to: v.state.doc.length, insert: {path.read_text()!r}}}}}); }})()"
        )
        key(page, "Enter", "Enter", 13, modifiers=2)
        time.sleep(0.3)
        fixed = SCRIPT.replace("0.25", "0.5")
        path.write_text(fixed, encoding="utf-8")
        until("the outside edit in the editor", lambda: editor_text(page) == fixed)
        wait_page(page, shows(mix(0.5)), "the outside edit's render")

        # Alt+drag the amount: values render while dragging (fast path), the file on release.
        at = cursor_at(page, "amount 0.")
        before = live.server.httpd.editor.rebinds
        mouse(page, "mousePressed", at["x"] + 4, at["y"])
        for dx in (4, 8, 12):  # 4 px a step of 0.1: 0.6, 0.7, 0.8
            mouse(page, "mouseMoved", at["x"] + 4 + dx, at["y"])
            time.sleep(0.15)
        wait_page(page, shows(mix(0.8)), "the dragged value's render, before the release")
        assert "amount 0.5" in path.read_text()  # rendered, but not written while dragging
        assert live.server.httpd.editor.rebinds > before  # through the fast path
        mouse(page, "mouseReleased", at["x"] + 16, at["y"])
        until("the dragged value written", lambda: "amount 0.8 " in path.read_text())
        assert editor_text(page) == path.read_text()

        screenshot_and_hide_code(page, "GENCODE_EDITOR_SCREENSHOT")


def _completions(page: Chromium) -> list[str]:
    return (
        page.evaluate(
            "[...document.querySelectorAll('.cm-tooltip-autocomplete li')].map(li => li.textContent)"
        )
        or []
    )


def screenshot_and_hide_code(page: Chromium, env: str) -> None:
    """Keep a screenshot of the page where $env names a file; then Ctrl+Shift+H hides the code
    and shows it again."""
    if shot := os.environ.get(env):
        data = page.send("Page.captureScreenshot", {"format": "png"})["data"]
        Path(shot).write_bytes(base64.b64decode(data))
    shown = "getComputedStyle(document.getElementById('editor')).display"
    key(page, "H", "KeyH", 72, modifiers=2 | 8)
    assert page.evaluate(shown) == "none"
    key(page, "H", "KeyH", 72, modifiers=2 | 8)
    assert page.evaluate(shown) != "none"
