"""Server: the engine's stream → HTTP on 127.0.0.1 (unless `--host`): page, MJPEG, WebSocket.

Routes: `/` the page (`?view=perform`: the picture alone, fullscreen), `/static/<file>` from
gencode/live/static/, `/status` JSON, `/frame.jpg` the picture on screen, `/stream.mjpg` the
stream as MJPEG (OBS, VLC, TouchDesigner, ffmpeg), `/ws` a WebSocket of binary frames (what the
page uses: one connection per tab, outside the browser's six-per-host limit), and
`POST /api/<name>` JSON endpoints (`number`, `signal`, `code`; more via `endpoints`), and the
code editor's routes (gencode/watch/editor.py: `/api/source`, `/api/words`, `/api/check`,
`/api/eval`, and `/api/number` with `col`), its bundle served from gencode/watch/static/.
"""

from __future__ import annotations

import json
import struct
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from gencode.live.engine import Engine
from gencode.runtime.atomic import write_bytes_atomic
from gencode.watch import websocket
from gencode.watch.editor import EditorApi
from gencode.watch.server import ClosingServer, Served

LOOPBACK = "127.0.0.1"
STATIC = Path(__file__).parent / "static"
EDITOR_STATIC = Path(__file__).parents[1] / "watch" / "static"
EDITOR_FILES = {"editor.js", "editor.css"}  # the watch page's editor bundle, shared
EDITOR_POSTS = {"check", "eval"}  # and `number` when it has `col` (a slider)
TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".json": "application/json",
}
BOUNDARY = "gencodeframe"
BRIEF = ("session", "ok", "error", "fps", "dropped")  # what each frame's header carries
Endpoint = Callable[[dict[str, Any]], dict[str, Any]]


class _Server(ClosingServer):
    engine: Engine
    endpoints: dict[str, Endpoint]
    editor: EditorApi
    names: set[str]  # the host names requests may be addressed to
    closing: threading.Event


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 120

    def do_GET(self) -> None:  # noqa: N802 — the http.server name
        if not self._allowed():
            return
        path = urlsplit(self.path).path
        engine = self.server.engine
        if path in ("/", "/index.html"):
            self._static("index.html")
        elif path.startswith("/static/"):
            self._static(path.removeprefix("/static/"))
        elif path == "/status":
            self._json(200, engine.status())
        elif path == "/frame.jpg":
            jpeg = engine.jpeg
            if jpeg is None:
                self._send(503, b"no frame yet\n", "text/plain")
            else:
                self._send(200, jpeg, "image/jpeg")
        elif path == "/stream.mjpg":
            self._mjpeg()
        elif path == "/ws":
            self._websocket()
        elif path == "/api/code":
            self._json(200, {"text": _read(engine.path), "path": engine.path.name})
        elif path.startswith("/api/"):
            reply = self.server.editor.get(path, dict(parse_qsl(urlsplit(self.path).query)))
            self._json(*(reply or (404, {"error": "no such route"})))
        else:
            self._send(404, b"not found\n", "text/plain")

    def do_POST(self) -> None:  # noqa: N802
        if not self._allowed():
            return
        name = urlsplit(self.path).path.removeprefix("/api/")
        handler = self.server.endpoints.get(name)
        known = handler is not None or name in EDITOR_POSTS
        if not self.path.startswith("/api/") or not known:
            self._send(404, b"not found\n", "text/plain")
            return
        # JSON only: a page elsewhere can't send it without a CORS preflight we never grant.
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            self._json(415, {"ok": False, "error": "send application/json"})
            return
        try:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(min(length, 1 << 20)) or b"{}")
            if not isinstance(body, dict):
                raise ValueError("a JSON object is expected")
            if name in EDITOR_POSTS or (name == "number" and "col" in body):
                # The editor's writes (Ctrl+Enter, a slider's release) reach the engine through
                # the folder watcher, as any editor's save does.
                self._json(*(self.server.editor.post(f"/api/{name}", body) or (404, {})))
                return
            assert handler is not None
            self._json(200, {"ok": True, **handler(body)})
        except (ValueError, KeyError, TypeError) as e:
            self._json(400, {"ok": False, "error": str(e)})

    # ---- checks ----------------------------------------------------------------------------

    def _allowed(self) -> bool:
        """Only requests addressed to our own names, from our own pages (DNS rebinding, CSRF)."""
        host = self.headers.get("Host", "")
        origin = self.headers.get("Origin")
        port = self.server.server_address[1]
        ok = host in {f"{n}:{port}" for n in self.server.names} | {""}
        if origin is not None and origin != "null":
            ok = ok and urlsplit(origin).netloc == host
        if not ok:
            self._send(403, b"forbidden host\n", "text/plain")
        return ok

    # ---- streams ---------------------------------------------------------------------------

    def _frames(self):
        """Each new frame (Shown, JPEG) as it is shown, until the client or the server goes."""
        engine, seen = self.server.engine, -2
        closing = self.server.closing

        def new(last: int) -> Callable[[], bool]:
            return lambda: engine.frame != last or closing.is_set()

        while not closing.is_set():
            with engine.shown:
                engine.shown.wait_for(new(seen), timeout=1.0)
                shown, jpeg = engine.latest, engine.jpeg
            if shown is None or jpeg is None or shown.frame == seen:
                continue
            seen = shown.frame
            yield shown, jpeg

    def _mjpeg(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.close_connection = True
        try:
            for _, jpeg in self._frames():
                head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                self.wfile.write(head.encode() + jpeg + b"\r\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass

    def _websocket(self) -> None:
        """Each message: a u32 header length, the frame's JSON header, its JPEG."""
        if not websocket.handshake(self):
            return
        engine = self.server.engine
        try:
            for shown, jpeg in self._frames():
                brief = {k: v for k, v in engine.status().items() if k in BRIEF}
                head = json.dumps({**brief, "frame": shown.frame, "program": shown.program})
                data = struct.pack(">I", len(head.encode())) + head.encode() + jpeg
                self.wfile.write(websocket.message(data))
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass

    # ---- replies ---------------------------------------------------------------------------

    def _static(self, name: str) -> None:
        file = (EDITOR_STATIC if name in EDITOR_FILES else STATIC) / name
        if "/" in name or file.suffix not in TYPES or not file.is_file():
            self._send(404, b"not found\n", "text/plain")
            return
        self._send(200, file.read_bytes(), TYPES[file.suffix] + "; charset=utf-8")

    def _json(self, code: int, obj: dict[str, Any]) -> None:
        self._send(code, json.dumps(obj).encode(), "application/json")

    def _send(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _EditorSession:
    """What the editor's routes need of a session: the script, its `--set`s, and the engine's
    per-frame fast path for a slider (it returns no error: a bad value shows in /status)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.path, self.sets = engine.path, engine.sets

    def set_number(self, line: int, column: int, value: float) -> None:
        self.engine.set_number(line, column, value)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


class LiveServer(Served):
    """The live page's server; `endpoints` takes more `POST /api/NAME` JSON handlers."""

    httpd: _Server

    def __init__(self, engine: Engine, port: int = 0, host: str = LOOPBACK):
        super().__init__(_Server((host, port), _Handler), host, "gencode-live-http")
        self.httpd.engine = engine
        self.httpd.closing = threading.Event()
        self.httpd.names = (
            {host, "localhost", LOOPBACK} if host in (LOOPBACK, "localhost") else {host}
        )
        self.httpd.endpoints = self.endpoints = default_endpoints(engine)
        self.httpd.editor = EditorApi(_EditorSession(engine))

    def stop(self) -> None:
        """Wake the streams waiting for a frame so they end, then stop serving."""
        self.httpd.closing.set()
        with self.httpd.engine.shown:
            self.httpd.engine.shown.notify_all()
        super().stop()


def default_endpoints(engine: Engine) -> dict[str, Endpoint]:
    """`number` {line, column, value}, `signal` {name, value}, `code` {text}: write the script."""

    def number(body: dict[str, Any]) -> dict[str, Any]:
        engine.set_number(int(body["line"]), int(body["column"]), float(body["value"]))
        return {}

    def signal(body: dict[str, Any]) -> dict[str, Any]:
        engine.set_signal(str(body["name"]), float(body["value"]))
        return {}

    def code(body: dict[str, Any]) -> dict[str, Any]:
        text = body["text"]
        if not isinstance(text, str):
            raise TypeError("'text' is the script's text")
        write_bytes_atomic(engine.path, text.encode("utf-8"))
        engine.changed()  # the watcher would see it too; asking twice costs one check
        return {}

    return {"number": number, "signal": signal, "code": code}
