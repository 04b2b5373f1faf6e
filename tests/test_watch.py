"""Watch mode: editor save styles, debouncing, incremental re-renders, errors that never stop the
show, superseded renders, the preview server (status, events, frames) and the CLI."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from runtime_support import write_script

from gencode.watch import Live
from gencode.watch.watcher import Debouncer

pytestmark = pytest.mark.usefixtures("one_thread")

DEBOUNCE = 0.05
RED, GREEN, BLUE = (220, 30, 30), (30, 200, 60), (40, 60, 230)
HEAD = 'model "tiny.safetensors"\n'


def script_for(image: str, extra: str = "") -> str:
    return f'{HEAD}load "{image}" as frame\n{extra}'


def wait_for(pred: Callable[[], object], timeout: float = 15.0) -> None:
    """Poll until `pred()` is true; fail after `timeout` seconds."""
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout}s waiting for {pred}")
        time.sleep(0.01)


def settle() -> None:
    """Long enough for any (wrongly) pending render to have started and finished."""
    time.sleep(DEBOUNCE * 6)


def colour(live: Live, output: int = 0) -> tuple[int, ...]:
    snap = live.session.snapshot
    assert snap is not None
    px = snap.outputs[output].pixels[0]  # (H, W, 3)
    return tuple(int(c) for c in px[px.shape[0] // 2, px.shape[1] // 2])


def near(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return max(abs(x - y) for x, y in zip(a, b, strict=True)) <= 3


@pytest.fixture
def folder(tiny_dir: Path) -> Path:
    for name, rgb in (("red.png", RED), ("green.png", GREEN), ("blue.png", BLUE)):
        Image.new("RGB", (16, 16), rgb).save(tiny_dir / name)
    return tiny_dir


@pytest.fixture
def live(folder: Path) -> Iterator[Live]:
    """A running Live on `sketch.gen` (showing red.png), its first render done."""
    logs: list[tuple[str, str]] = []
    path = write_script(folder, script_for("red.png"))
    lv = Live(path, folder / "out", debounce=DEBOUNCE, log=lambda lvl, t: logs.append((lvl, t)))
    lv.logs = logs  # type: ignore[attr-defined]
    with lv:
        wait_for(lambda: lv.session.renders == 1)
        yield lv


def renders_to(live: Live, n: int, rgb: tuple[int, int, int]) -> None:
    """Wait for render `n`, check it shows `rgb`, and that no extra render follows."""
    wait_for(lambda: live.session.renders >= n)
    settle()
    assert live.session.renders == n and near(colour(live), rgb)


# ---- editor save styles ----------------------------------------------------------------------


def test_in_place_write(live: Live) -> None:
    assert near(colour(live), RED) and live.session.status()["ok"]
    path = live.session.path
    with open(path, "r+", encoding="utf-8") as f:  # rewrite the same inode
        f.seek(0)
        f.write(script_for("green.png"))
        f.truncate()
    renders_to(live, 2, GREEN)


def test_write_to_temp_and_rename(live: Live) -> None:
    path = live.session.path
    tmp = path.with_name("sketch.gen.tmp~")  # vim / atomic-save style: a new inode
    tmp.write_text(script_for("green.png"), encoding="utf-8")
    os.replace(tmp, path)
    renders_to(live, 2, GREEN)
    path.with_name(".sketch.gen.swp").write_text("swap")  # vim's swap file is not a save
    settle()
    assert live.session.renders == 2


def test_truncate_then_write_ignores_the_empty_read(live: Live) -> None:
    path = live.session.path
    with open(path, "w", encoding="utf-8") as f:  # VS Code: truncate, flush, write later
        f.flush()
        wait_for(lambda: live.session.skipped >= 1)  # the empty file was seen, and ignored
        f.write(script_for("green.png"))
    renders_to(live, 2, GREEN)
    assert live.session.failures == 0


def test_delete_then_recreate(live: Live) -> None:
    path = live.session.path
    path.unlink()
    wait_for(lambda: live.session.skipped >= 1)  # the script is missing: it says so
    status = live.session.status()
    assert not status["ok"] and "renamed or deleted" in status["error"]
    assert near(colour(live), RED)  # the last good frames stay
    path.write_text(script_for("green.png"), encoding="utf-8")
    renders_to(live, 2, GREEN)
    assert live.session.status()["ok"]


def test_a_rename_is_followed(live: Live) -> None:
    path = live.session.path
    moved = path.with_name("renamed.gen")
    path.rename(moved)
    wait_for(lambda: live.session.path.name == "renamed.gen")
    wait_for(lambda: live.session.renders == 2)  # the renamed script, as it is
    moved.write_text(script_for("green.png"), encoding="utf-8")
    renders_to(live, 3, GREEN)
    assert live.session.status()["ok"]


def test_an_include_in_a_folder_made_after_the_error_recovers(live: Live) -> None:
    path = live.session.path
    path.write_text('include "later/look.gen"\n' + path.read_text(encoding="utf-8"), "utf-8")
    wait_for(lambda: not live.session.status()["ok"])
    assert "no such file to include" in live.session.status()["error"]
    (path.parent / "later").mkdir()
    time.sleep(0.4)  # the new folder is seen and watched before the file appears in it
    (path.parent / "later" / "look.gen").write_text("seed 3\n", encoding="utf-8")
    wait_for(lambda: live.session.status()["ok"])  # without saving the script again


def test_a_hanging_check_is_abandoned_and_the_session_goes_on(live: Live, monkeypatch) -> None:
    import gencode.render

    real = gencode.render.load_script
    gate = threading.Event()

    def hang(path, sets=None):
        if "hang" in Path(path).read_text(encoding="utf-8"):
            gate.wait(30)  # a check that never returns (a FIFO, a pathological script)
        return real(path, sets)

    monkeypatch.setattr(gencode.render, "load_script", hang)
    live.session.check_seconds = 0.5
    path = live.session.path
    path.write_text(script_for("blue.png", "# hang\n"), encoding="utf-8")
    wait_for(lambda: "abandoned" in (live.session.status()["error"] or ""))
    path.write_text(script_for("green.png"), encoding="utf-8")
    renders_to(live, 2, GREEN)  # the next save still renders
    assert live.session.status()["ok"]
    gate.set()


def test_unchanged_and_empty_saves_are_ignored(live: Live) -> None:
    path = live.session.path
    path.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")  # same bytes
    os.utime(path)
    wait_for(lambda: live.session.skipped >= 1)
    path.write_text("", encoding="utf-8")
    wait_for(lambda: live.session.skipped >= 2)
    settle()
    assert live.session.renders == 1 and live.session.checks == 1
    assert live.session.status()["ok"] and near(colour(live), RED)


def test_a_burst_of_saves_renders_once(live: Live) -> None:
    path = live.session.path
    live.watcher.debouncer.delay = 0.5  # wide, so a loaded CI machine still sees one burst
    for i in range(20):  # an editor's duplicate events, or a plugin saving repeatedly
        path.write_text(script_for("green.png", f"# {i}\n"), encoding="utf-8")
        time.sleep(0.002)
    renders_to(live, 2, GREEN)
    assert live.session.checks == 2 and live.watcher.events >= 20


def test_debouncer_fires_on_the_trailing_edge() -> None:
    calls: list[tuple[float, set]] = []
    d = Debouncer(0.25, lambda paths: calls.append((time.monotonic(), paths)))
    try:
        t0 = time.monotonic()
        for i in range(5):
            d.poke(Path(f"/x/{i % 2}"))
            time.sleep(0.02)  # each poke inside the window pushes the call later
        wait_for(lambda: calls, 2)
        time.sleep(0.3)
        assert len(calls) == 1 and calls[0][1] == {Path("/x/0"), Path("/x/1")}
        assert calls[0][0] - t0 >= 4 * 0.02 + 0.25
    finally:
        d.stop()


# ---- what a save re-renders --------------------------------------------------------------------


def test_included_files_and_loaded_images_trigger(live: Live) -> None:
    folder = live.session.path.parent
    look = folder / "lib" / "look.gen"  # in another folder: its folder is watched too
    look.parent.mkdir()
    look.write_text('load "red.png" as extra\n', encoding="utf-8")
    text = script_for("red.png", 'include "lib/look.gen"\n')
    live.session.path.write_text(text, encoding="utf-8")
    wait_for(lambda: live.session.renders == 2)
    assert look.parent in live.watcher.folders
    look.write_text('load "blue.png" as extra\n', encoding="utf-8")
    wait_for(lambda: live.session.renders == 3)
    assert near(colour(live, 1), BLUE)
    Image.new("RGB", (16, 16), GREEN).save(folder / "red.png")  # an image the script loads
    wait_for(lambda: live.session.renders == 4)
    assert near(colour(live, 0), GREEN)


def test_an_edit_re_runs_only_the_changed_nodes(folder: Path) -> None:
    text = HEAD + 'seed 3\ndiffuse "dunes" steps 4 as a\ndiffuse "ocean" steps 4 as b\n'
    path = write_script(folder, text)
    with Live(path, folder / "out", debounce=DEBOUNCE) as lv:
        wait_for(lambda: lv.session.renders == 1)
        ex = lv.session.executor
        before = dict(ex.counts)
        path.write_text(text.replace("as b", "as b2"), encoding="utf-8")  # an output-only edit
        wait_for(lambda: lv.session.renders == 2)
        assert dict(ex.counts) == before
        path.write_text(text.replace('"ocean"', '"forest"'), encoding="utf-8")  # one diffuse
        wait_for(lambda: lv.session.writes == 3)
        assert ex.counts["diffuse"] == before["diffuse"] + 1
        assert sorted(p.name for p in (folder / "out").iterdir() if p.suffix == ".png") == [
            "a.png",
            "b.png",
            "b2.png",
        ]


def test_a_restarted_session_with_a_disk_cache_starts_warm(folder: Path) -> None:
    """`gencode watch --cache DIR`: stop the show, start it again, and nothing is re-sampled."""
    path = write_script(folder, HEAD + 'seed 3\ndiffuse "dunes" steps 4 as a\n')
    frames = []
    for _ in range(2):
        with Live(path, folder / "out", debounce=DEBOUNCE, cache=folder / "cache") as lv:
            wait_for(lambda lv=lv: lv.session.renders == 1)
            frames.append(colour(lv))
            counts = dict(lv.session.executor.counts)
    assert counts.get("diffuse", 0) == 0  # the second session read it from the disk cache
    assert frames[0] == frames[1]
    assert any((folder / "cache").iterdir())


# ---- never stop the show -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "broken, where",
    [
        (script_for("green.png", "diffuse $$$\n"), "sketch.gen:3:9: error: unexpected character"),
        (script_for("green.png", "difuse 3\n"), "sketch.gen:3:1: error: unknown op 'difuse'"),
        (script_for("green.png", 'include "gone.gen"\n'), "no such file to include: 'gone.gen'"),
        (script_for("bad.png"), "sketch.gen:2:1: error: bad.png"),  # decodes only at render
        (HEAD.replace("tiny", "corrupt") + 'diffuse "x"\n', "corrupt"),  # loads only at render
        (HEAD + "size 2048\ninterpolate latent a b 10000\n", "of memory"),
    ],
    ids=["syntax", "check", "missing-include", "bad-image", "corrupt-model", "out-of-memory"],
)
def test_errors_keep_the_last_good_frames_and_the_next_save_recovers(
    live: Live, broken: str, where: str
) -> None:
    folder = live.session.path.parent
    (folder / "bad.png").write_bytes(b"not an image at all")
    good = (folder / "tiny.safetensors").read_bytes()
    (folder / "corrupt.safetensors").write_bytes(good[: len(good) - 1000])
    live.session.path.write_text(broken, encoding="utf-8")
    wait_for(lambda: not live.session.status()["ok"])
    status = live.session.status()
    assert where in status["error"]
    if where not in ("corrupt", "of memory"):  # refused before any node runs: no caret
        assert "^" in status["error"]  # a caret under the culprit
    assert status["renders"] == 1 and near(colour(live), RED)  # the last good frames stay
    assert any(where in text for lvl, text in live.logs if lvl == "error")  # type: ignore[attr-defined]
    live.session.path.write_text(script_for("blue.png"), encoding="utf-8")
    renders_to(live, 2, BLUE)
    assert live.session.status()["ok"] and live.session.status()["error"] is None


def test_non_finite_values_are_an_error(live: Live, monkeypatch) -> None:
    import gencode.render as R

    real = R.render

    def nan_render(*args, **kwargs):
        result = real(*args, **kwargs)
        result.values = {k: v * float("nan") for k, v in result.values.items()}
        return result

    monkeypatch.setattr(R, "render", nan_render)
    live.session.path.write_text(script_for("green.png"), encoding="utf-8")
    wait_for(lambda: not live.session.status()["ok"])
    assert "sketch.gen:2:1: error: output 'frame' has NaN" in live.session.status()["error"]
    assert near(colour(live), RED)


def test_a_save_during_a_render_cancels_it(live: Live) -> None:
    path = live.session.path
    slow = HEAD + 'diffuse "dunes" steps 1000 as frame\n'
    path.write_text(slow, encoding="utf-8")
    wait_for(lambda: (live.session.progress or {}).get("done", 0) >= 2)
    t0 = time.monotonic()
    path.write_text(script_for("green.png"), encoding="utf-8")  # supersedes, never queues
    wait_for(lambda: live.session.renders == 2)
    assert time.monotonic() - t0 < 5  # far less than the 1000 steps would take
    settle()
    s = live.session
    assert (s.renders, s.cancelled) == (2, 1) and near(colour(live), GREEN)
    assert s.executor.counts["diffuse"] == 0  # the stale diffuse never finished


def test_stopping_during_a_render_says_stopped_not_superseded(live: Live) -> None:
    """Ctrl-C (or closing the session) mid-render is no newer save: the log says so."""
    live.session.path.write_text(HEAD + 'diffuse "dunes" steps 1000 as frame\n', encoding="utf-8")
    wait_for(lambda: (live.session.progress or {}).get("done", 0) >= 2)
    live.session.stop()
    wait_for(lambda: live.session.cancelled == 1)
    said = [text for _, text in live.logs]  # type: ignore[attr-defined]
    assert "stopped" in said and not any("superseded" in t for t in said)


def test_a_broken_save_during_a_render_lets_it_finish(live: Live) -> None:
    path = live.session.path
    path.write_text(HEAD + 'diffuse "dunes" steps 300 as frame\n', encoding="utf-8")
    wait_for(lambda: (live.session.progress or {}).get("done", 0) >= 2)
    path.write_text(HEAD + 'diffuse "dunes" steps 300 as frame\ndifuse\n', encoding="utf-8")
    wait_for(lambda: live.session.renders == 2, 60)  # the render of the newest good script
    s = live.session.status()
    assert live.session.cancelled == 0 and s["generation"] == 2
    assert not s["ok"] and "sketch.gen:3:1: error: unknown name 'difuse'" in s["error"]


# ---- the server ----------------------------------------------------------------------------------


def get(live: Live, path: str, host: str | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", live.server.port, timeout=10)
    conn.request("GET", path, headers={"Host": host} if host else {})
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, body


def test_status_json_and_frames(live: Live) -> None:
    code, body = get(live, "/status")
    status = json.loads(body)
    assert code == 200 and status["renders"] == 1 and status["ok"] is True
    assert status["error"] is None and status["outputs"] == ["/frames/1/0/0.png"]
    item = status["items"][0]
    assert (item["name"], item["width"], item["height"], item["sequence"]) == (
        "frame",
        16,
        16,
        False,
    )
    code, png = get(live, status["outputs"][0])
    assert code == 200 and png.startswith(b"\x89PNG")
    assert get(live, "/frames/9/0/0.png")[0] == 404
    for page in ("/", "/?view=perform", "/static/app.js", "/static/style.css"):
        assert get(live, page)[0] == 200
    assert get(live, "/static/../server.py")[0] == 404


def test_events_announce_new_frames(live: Live) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", live.server.port, timeout=10)
    conn.request("GET", "/events")
    r = conn.getresponse()
    assert r.getheader("Content-Type") == "text/event-stream"

    def next_status() -> dict:
        event = None
        while True:
            line = r.fp.readline().decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "status":
                return json.loads(line[6:])

    assert next_status()["generation"] == 1
    live.session.path.write_text(script_for("green.png"), encoding="utf-8")
    while (s := next_status())["generation"] != 2:
        pass
    assert s["renders"] == 2 and s["ok"]
    conn.close()


def test_the_page_needs_no_network_and_ships_with_the_package() -> None:
    from gencode.watch.server import STATIC

    files = {f.name: f.read_text(encoding="utf-8") for f in STATIC.iterdir()}
    assert set(files) == {"index.html", "app.js", "style.css", "editor.js", "editor.css"}
    for name, text in files.items():  # a venue's network may be down: nothing from outside
        text = text.replace("http://www.w3.org/2000/svg", "")  # CodeMirror's SVG namespace
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, name
    assert 'src="/static/app.js"' in files["index.html"]
    assert 'src="/static/editor.js"' in files["index.html"]


def test_the_server_listens_on_loopback_only(live: Live) -> None:
    assert live.server.httpd.server_address[0] == "127.0.0.1"
    assert live.url.startswith("http://127.0.0.1:")
    assert get(live, "/status", host="evil.example:80")[0] == 403  # DNS rebinding
    others = {ip for *_, (ip, *_) in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)}
    for ip in others - {"127.0.0.1"}:
        if ip.startswith("127."):
            continue
        with pytest.raises(OSError):
            socket.create_connection((ip, live.server.port), timeout=2).close()


# ---- the command -----------------------------------------------------------------------------------


def test_cli_prints_errors_with_carets_and_stops_cleanly_on_ctrl_c(folder: Path) -> None:
    text = HEAD + 'param img = "red.png"\nload img as frame\n'
    path = write_script(folder, text + "difuse 3\n")
    opts = ["-o", str(folder / "out"), "--set", "img=green.png", "--no-open", "--port", "0"]
    cmd = [sys.executable, "-m", "gencode", "watch", str(path), *opts]
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        url = ""
        while "preview:" not in url:
            url = proc.stdout.readline()
            assert url, proc.stderr.read()
        base = url.split()[-1]
        wait_for(lambda: json.load(urllib.request.urlopen(base + "status"))["error"], 60)
        path.write_text(text, encoding="utf-8")
        wait_for(lambda: json.load(urllib.request.urlopen(base + "status"))["renders"] == 1, 60)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "sketch.gen:4:1: error: unknown op 'difuse'" in err and "^~~~~~" in err
    assert "render 1:" in out and "stopped" in err and "Traceback" not in err
    frame = np.array(Image.open(folder / "out" / "frame.png"))  # written, with --set applied
    assert frame.shape == (16, 16, 3) and near(tuple(int(c) for c in frame[8, 8]), GREEN)
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(base + "status", timeout=2)


def test_a_browser_disconnecting_prints_no_traceback(capsys) -> None:
    from gencode.watch.server import _Handler, _Server

    server = _Server(("127.0.0.1", 0), _Handler)
    try:
        for err in (
            ConnectionResetError(104, "Connection reset by peer"),
            BrokenPipeError(32, "x"),
        ):
            try:
                raise err
            except OSError:
                server.handle_error(None, ("127.0.0.1", 50000))
    finally:
        server.server_close()
    assert capsys.readouterr().err == ""
