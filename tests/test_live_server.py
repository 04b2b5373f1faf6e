"""The live server: /status, the Host and Origin checks, MJPEG read by ffmpeg as a video
source, binary WebSocket frames, and the JSON endpoints (number, signal, code)."""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import struct
import subprocess
import time
from collections.abc import Iterator

import imageio_ffmpeg
import numpy as np
import pytest
from runtime_support import write_script

from gencode.live.session import LiveSession

pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.timeout(180)]

SCRIPT = 'model "tiny.safetensors"\nseed 5\nsteps 4\nstrength 0.5\nzoom 1.05\nanimate "dunes"\n'


@pytest.fixture
def live(tiny_dir) -> Iterator[LiveSession]:
    script = write_script(tiny_dir, SCRIPT)
    with LiveSession(script, fps=8, device="cpu") as session:
        end = time.monotonic() + 60
        while session.engine.frame < 1 and time.monotonic() < end:
            time.sleep(0.05)
        yield session


def request(session, method="GET", path="/status", body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", session.server.port, timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, r.getheader("Content-Type"), data


def test_status_tells_frame_fps_program_ok_error_dropped(live):
    code, ctype, body = request(live)
    first = json.loads(body)
    assert code == 200 and ctype == "application/json"
    assert {"frame", "fps", "program", "ok", "error", "dropped", "session"} <= set(first)
    assert first["program"] == 1 and first["ok"] is True and first["error"] is None
    time.sleep(1.2)
    later = json.loads(request(live)[2])
    assert later["frame"] > first["frame"] and later["fps"] > 0


@pytest.mark.parametrize(
    "headers",
    [{"Host": "evil.example:80"}, {"Host": "attacker.test"}, {"Origin": "http://evil.example"}],
)
def test_other_hosts_and_origins_are_refused(live, headers):
    assert request(live, headers=headers)[0] == 403
    assert request(live, "POST", "/api/signal", b"{}", headers)[0] == 403


def test_the_mjpeg_stream_is_a_video_source_for_ffmpeg(live):
    url = f"http://127.0.0.1:{live.server.port}/stream.mjpg"
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "mpjpeg", "-i", url,
           "-frames:v", "3", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr.decode()
    frames = np.frombuffer(out.stdout, np.uint8).reshape(3, 16, 16, 3)
    assert frames.std() > 1  # pictures, not a blank


def test_the_page_gets_binary_frames_over_a_websocket(live):
    sock = socket.create_connection(("127.0.0.1", live.server.port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{live.server.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    reader = sock.makefile("rb")
    assert b"101" in reader.readline()
    while reader.readline() not in (b"\r\n", b""):
        pass
    frames = []
    for _ in range(2):
        b0, b1 = reader.read(2)
        assert b0 == 0x82  # one binary frame, final
        n = b1 & 0x7F
        n = struct.unpack(">H", reader.read(2))[0] if n == 126 else n
        payload = reader.read(n)
        (k,) = struct.unpack(">I", payload[:4])
        head = json.loads(payload[4 : 4 + k])
        assert payload[4 + k : 4 + k + 2] == b"\xff\xd8"  # a JPEG
        frames.append(head["frame"])
    sock.close()
    assert frames[1] > frames[0]


def test_endpoints_take_json_only_and_act(live):
    engine = live.engine
    code, _, body = request(
        live, "POST", "/api/signal", b'{"name": "midi.cc.1", "value": 0.5}',
        {"Content-Type": "text/plain"},
    )  # fmt: skip
    assert code == 415  # a form post from another page can't reach it
    code, _, body = request(
        live, "POST", "/api/signal", b'{"name": "midi.cc.1", "value": 0.5}',
        {"Content-Type": "application/json"},
    )  # fmt: skip
    assert code == 200 and json.loads(body)["ok"]
    code, _, body = request(
        live, "POST", "/api/number", b'{"line": 1}', {"Content-Type": "application/json"}
    )
    assert code == 400 and "column" in json.loads(body)["error"]
    text = SCRIPT.replace('"dunes"', '"ocean"')
    code, _, _ = request(
        live, "POST", "/api/code", json.dumps({"text": text}).encode(),
        {"Content-Type": "application/json"},
    )  # fmt: skip
    assert code == 200 and engine.path.read_text() == text
    end = time.monotonic() + 30
    while engine.programs < 2 and time.monotonic() < end:
        time.sleep(0.05)
    assert engine.programs == 2 and engine.signals == {"midi.cc.1": 0.5}
    assert json.loads(request(live, path="/api/code")[2])["text"] == text
    code, ctype, jpeg = request(live, path="/frame.jpg")
    assert code == 200 and ctype == "image/jpeg" and jpeg[:2] == b"\xff\xd8"
