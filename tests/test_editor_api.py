"""The editor's JSON API without a browser: diagnostics at line and column from the checker,
atomic writes on evaluate, the words completion serves (from the checker's tables), the number
fast path (one literal rebound without parsing again; the file written on release only), and
the POST guard against other sites."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import gencode.parse
from gencode.ops.table import SIGNATURES
from gencode.watch.editor import EditorApi
from gencode.watch.server import PreviewServer
from gencode.watch.session import Session

SCRIPT = 'model "tiny.safetensors"\nsize 16\nprompt "dunes"\ndiffuse steps 2 guidance 3.5 as pic\n'


@pytest.fixture
def api(tiny_dir: Path) -> EditorApi:
    path = tiny_dir / "sketch.gen"
    path.write_text(SCRIPT, encoding="utf-8")
    return EditorApi(Session(path))  # never started: scripts handed to it wait in `_pending`


def test_diagnostics_point_at_line_and_column(api: EditorApi) -> None:
    code, reply = api.post("/api/check", {"text": SCRIPT + "difuse 3\n"})
    assert code == 200
    (d,) = [d for d in reply["diagnostics"] if d["severity"] == "error"]
    assert (d["line"], d["col"], d["end_line"], d["end_col"]) == (5, 1, 5, 7)
    assert "unknown op 'difuse' — did you mean 'diffuse'?" in d["message"]
    assert api.session.path.read_text() == SCRIPT  # checking writes nothing


def test_evaluate_writes_the_file_atomically(api: EditorApi) -> None:
    new = SCRIPT.replace("dunes", "ocean")
    code, reply = api.post("/api/eval", {"text": new})
    assert code == 200 and reply["ok"] and reply["diagnostics"] == []
    assert api.session.path.read_text() == new
    assert [p.name for p in api.session.path.parent.glob(".sketch.gen*")] == []  # no temp left
    code, reply = api.get("/api/source", {})
    assert reply["text"] == new and api.get("/api/source", {"sha": reply["sha"]})[1]["same"]


def test_words_come_from_the_checkers_tables(api: EditorApi) -> None:
    words = api.get("/api/words", {})[1]
    assert [o["name"] for o in words["ops"]] == list(SIGNATURES)
    assert {"seed", "size", "prompt"} <= set(words["settings"])
    assert {"let", "param", "include", "as"} <= set(words["statements"])
    assert {"steps", "guidance", "strength"} <= set(words["keywords"])
    assert "ddim" in words["samplers"] and "slerp" in words["symbols"]
    assert "midi.cc" in [s["name"] for s in words["signals"]]
    assert "dunes" in words["prompt_words"]  # the tiny model's vocabulary


def test_a_slider_rebinds_one_number_without_parsing(
    api: EditorApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    line, col = 4, SCRIPT.splitlines()[3].index("3.5") + 1
    body = {"line": line, "col": col, "value": 4.0, "text": "4.0", "final": False}
    assert api.post("/api/number", body)[0] == 200  # parses the file once
    monkeypatch.setattr(gencode.parse, "parse", lambda *a: pytest.fail("parsed again"))
    for value in ("4.5", "5.25"):
        code, reply = api.post("/api/number", {**body, "value": float(value), "text": value})
        assert code == 200 and reply["ok"], reply
        seq, script = api.session._pending
        (node,) = [n for n in script.graph.nodes if n.op == "diffuse"]
        assert node.params["guidance"] == float(value)
        assert api.session.path.read_text() == SCRIPT  # not written while dragging
    assert api.rebinds == 3
    monkeypatch.undo()
    code, reply = api.post("/api/number", {**body, "value": 6.0, "text": "6.0", "final": True})
    assert code == 200 and api.session.path.read_text() == SCRIPT.replace("3.5", "6.0")


def test_a_slider_off_a_number_or_out_of_range_is_refused(api: EditorApi) -> None:
    code, reply = api.post("/api/number", {"line": 1, "col": 1, "value": 2})
    assert code == 409 and "no number starts here" in reply["error"]
    col = SCRIPT.splitlines()[3].index("3.5") + 1
    code, reply = api.post("/api/number", {"line": 4, "col": col, "value": 99, "text": "99"})
    assert code == 200 and not reply["ok"] and "guidance" in reply["error"]
    assert api.session._pending is None  # nothing rendered


def test_posts_from_another_site_are_refused(api: EditorApi) -> None:
    server = PreviewServer(api.session)
    server.start()
    try:
        data = json.dumps({"text": "seed 1\n"}).encode()
        own = server.url.rstrip("/")
        for origin, want in (("http://evil.example", 403), ("null", 403), (own, 200), (None, 200)):
            headers = {"Origin": origin} if origin else {}  # a tool sends none
            req = urllib.request.Request(server.url + "api/check", data, headers)
            try:
                code = urllib.request.urlopen(req, timeout=10).status
            except urllib.error.HTTPError as e:
                code = e.code
            assert code == want, origin
    finally:
        server.stop()
