"""Server: a session's state → the live preview over HTTP, on 127.0.0.1 only.

Routes: `/` the page (static files, no build step, no external URLs), `/status` JSON, `/ws` the
page's WebSocket and `/events` server-sent events (both: `status` on every change, `progress`
during renders), and
`/frames/<generation>/<output>/<frame>.png`, served from memory. A frame URL names its
generation, so a browser may cache it forever and a page never shows half of two renders.
"""

from __future__ import annotations

import json
import queue
import re
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from gencode.watch import websocket
from gencode.watch.editor import EditorApi
from gencode.watch.session import Session

HOST = "127.0.0.1"  # never another interface: a performer's laptop is on a venue's network
STATIC = Path(__file__).parent / "static"
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
FRAME = re.compile(r"^/frames/(\d+)/(\d+)/(\d+)\.png$")
KEEPALIVE = 15.0  # seconds between comments on an idle event stream, so proxies keep it open
MAX_BODY = 1 << 20  # bytes: a script posted by the editor


class ClosingServer(ThreadingHTTPServer):
    """A threading server that also closes its open connections when it stops: a browser's
    keep-alive connection must not go on talking to a stopped session (a restarted watcher on
    the same port would seem to serve the old session's 404s)."""

    daemon_threads = True  # open event streams must not keep the process alive at exit

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._open_lock:
                self._open.discard(request)

    def close_connections(self) -> None:
        with self._open_lock:
            for conn in self._open:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class _Server(ClosingServer):
    session: Session
    editor: EditorApi

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A browser closing a connection mid-request is no error: print no traceback for it."""
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 120  # an idle keep-alive connection gives its thread back after two minutes

    def do_GET(self) -> None:  # noqa: N802 — the http.server name
        if not self._host_ok():
            self._send(403, b"forbidden host\n", "text/plain")
            return
        path = urlsplit(self.path).path
        if path in ("/", "/index.html"):
            self._static("index.html")
        elif path.startswith("/static/"):
            self._static(path.removeprefix("/static/"))
        elif path == "/status":
            body = json.dumps(self.server.session.status()).encode()
            self._send(200, body, "application/json")
        elif path == "/events":
            self._events()
        elif path == "/ws":
            self._websocket()
        elif m := FRAME.match(path):
            self._frame(*(int(g) for g in m.groups()))
        elif path.startswith("/api/"):
            query = dict(parse_qsl(urlsplit(self.path).query))
            self._api(self.server.editor.get(path, query))
        else:
            self._send(404, b"not found\n", "text/plain")

    def do_POST(self) -> None:  # noqa: N802 — the http.server name
        """The editor's writes (see gencode/watch/editor.py); JSON in, JSON out."""
        origin = self.headers.get(
            "Origin"
        )  # absent from tools (curl); a sandboxed frame sends "null"
        if not self._host_ok() or (origin is not None and origin not in self._origins()):
            self._send(403, b"forbidden\n", "text/plain")
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(413, b"too large\n", "text/plain")
            return
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
            reply = self.server.editor.post(urlsplit(self.path).path, body)
        except (ValueError, AttributeError) as e:
            reply = (400, {"error": str(e)})
        self._api(reply)

    def _origins(self) -> tuple[str, ...]:
        """A POST comes from our own page (or a tool that sends no Origin): never another site."""
        port = self.server.server_address[1]
        return (f"http://{HOST}:{port}", f"http://localhost:{port}")

    def _api(self, reply: tuple[int, dict] | None) -> None:
        if reply is None:
            self._send(404, b'{"error": "no such route"}', "application/json")
            return
        code, data = reply
        self._send(code, json.dumps(data).encode(), "application/json")

    def _host_ok(self) -> bool:
        """Only our own names: a page on another site cannot reach us by DNS rebinding."""
        host = self.headers.get("Host", "")
        port = self.server.server_address[1]
        return host in ("", f"{HOST}:{port}", f"localhost:{port}")

    def _static(self, name: str) -> None:
        file = STATIC / name
        if "/" in name or file.suffix not in TYPES or not file.is_file():
            self._send(404, b"not found\n", "text/plain")
            return
        self._send(200, file.read_bytes(), TYPES[file.suffix] + "; charset=utf-8")

    def _frame(self, generation: int, output: int, frame: int) -> None:
        snap = self.server.session.frames(generation)
        data = snap.png(output, frame) if snap is not None else None
        if data is None:
            self._send(404, b"no such frame (a newer render replaced it)\n", "text/plain")
            return
        self._send(200, data, "image/png", "public, max-age=31536000, immutable")

    def _events(self) -> None:
        """A server-sent event stream: the current status first, then every change."""
        hub = self.server.session.hub
        q = hub.subscribe()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.close_connection = True
            first = json.dumps(self.server.session.status(), separators=(",", ":"))
            self._event("status", first, "retry: 500\n")
            while not hub.closed.is_set():
                try:
                    name, text = q.get(timeout=KEEPALIVE)
                except queue.Empty:
                    self.wfile.write(b": keepalive\n\n")
                    self.wfile.flush()
                    continue
                self._event(name, text)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # the page went away
        finally:
            hub.unsubscribe(q)

    def _websocket(self) -> None:
        """The page's one connection: the status, then every event, as JSON text messages
        `{"event": NAME, "data": ...}` (not an event stream: see `websocket`)."""
        if not websocket.handshake(self):
            return
        hub = self.server.session.hub
        q = hub.subscribe()
        try:
            self._ws("status", json.dumps(self.server.session.status(), separators=(",", ":")))
            while not hub.closed.is_set():
                try:
                    name, text = q.get(timeout=KEEPALIVE)
                except queue.Empty:
                    self._ws("keepalive", "{}")
                    continue
                self._ws(name, text)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass
        finally:
            hub.unsubscribe(q)

    def _ws(self, name: str, text: str) -> None:
        data = f'{{"event":{json.dumps(name)},"data":{text}}}'.encode()
        self.wfile.write(websocket.message(data, websocket.TEXT))
        self.wfile.flush()

    def _event(self, name: str, text: str, prefix: str = "") -> None:
        self.wfile.write(f"{prefix}event: {name}\ndata: {text}\n\n".encode())
        self.wfile.flush()

    def _send(self, code: int, body: bytes, ctype: str, cache: str = "no-store") -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the terminal is for the performer's errors, not for request logs


class Served:
    """A `ClosingServer` answering on a thread of its own: its port and URL once bound, start,
    and a stop that frees the port and ends every open connection (the watch and live pages)."""

    def __init__(self, httpd: ClosingServer, host: str, name: str):
        self.httpd, self.host = httpd, host
        # A short poll, so Ctrl-C (shutdown) answers at once rather than in half a second.
        serve = lambda: self.httpd.serve_forever(poll_interval=0.05)  # noqa: E731
        self._thread = threading.Thread(target=serve, name=name, daemon=True)

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def start(self) -> Served:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.httpd.close_connections()
        self._thread.join(timeout=5)


class PreviewServer(Served):
    """The preview page's HTTP server, on 127.0.0.1 and a given port (0: any free one)."""

    def __init__(self, session: Session, port: int = 0):
        super().__init__(_Server((HOST, port), _Handler), HOST, "gencode-preview")
        self.httpd.session = session
        self.httpd.editor = EditorApi(session)
        self.session = session

    def stop(self) -> None:
        """Close every event stream, stop serving and free the port."""
        self.session.hub.close()
        super().stop()
