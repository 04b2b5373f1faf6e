"""Signals in `gencode live`: OSC messages sent with python-osc and MIDI messages through mido
move a parameter of the running stream (seen in /status); a set recorded while a controller
moved and a slider rebound a number replays to identical frame hashes; a script's `audio "pulses.wav"` drives audio.bass
(higher on the pulses) with the same values live, offline and in a replay."""

from __future__ import annotations

import json
import math
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from runtime_support import live_status as status
from runtime_support import write_script

from gencode.live.inputs import InputOptions
from gencode.live.replay import render_frames, replay
from gencode.live.session import LiveSession
from gencode.signals.audio import track_signals

pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.timeout(180)]

HEAD = 'model "tiny.safetensors"\nseed 5\nsteps 4\nstrength 0.5\nsize 32\n'
FPS = 8


def until(session: LiveSession, want, what: str, timeout: float = 60.0) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        s = status(session)
        if want(s):
            return s
        time.sleep(0.03)
    raise AssertionError(f"never saw {what}; last status {status(session)}")


def test_osc_moves_a_parameter_and_the_recorded_set_replays_exactly(tiny_dir, tmp_path):
    from pythonosc.udp_client import SimpleUDPClient

    script = write_script(tiny_dir, HEAD + 'animate "dunes" zoom (1 + 0.2 * osc "/zoom")\n')
    options = InputOptions(osc_port=0)
    with LiveSession(script, fps=FPS, device="cpu", record=tmp_path / "set", inputs=options) as s:
        port = until(s, lambda st: st["frame"] >= 2, "the stream")["inputs"]["osc_port"]
        assert port > 0
        client = SimpleUDPClient("127.0.0.1", port)
        for value in (0.8, 0.1):
            client.send_message("/zoom", value)
            seen = until(
                s,
                lambda st, v=value: abs(st["signals"].get("osc /zoom", 0) - v) < 0.01,
                f"osc {value}",
            )
            frame = seen["frame"]
            until(s, lambda st, f=frame: st["frame"] >= f + 2, "frames after the move")
        # A slider on the 0.2 (the fast path: the same program, the value in /status).
        program = status(s)["program"]
        s.engine.set_number(6, 27, 0.5)
        moved = until(s, lambda st: st["numbers"] == {"6:27": 0.5}, "the slider value")
        assert moved["program"] == program
        until(s, lambda st, f=moved["frame"]: st["frame"] >= f + 2, "frames after the slider")
    log = json.loads((tmp_path / "set.set.json").read_text())
    moves = [e for e in log["events"] if e["kind"] == "signal" and e["name"] == "osc /zoom"]
    assert len(moves) >= 4  # smoothed: several frames on the way to each value
    assert max(e["value"] for e in moves) > 0.79 and moves[-1]["value"] < 0.11
    result = replay(tmp_path / "set.set.json", tmp_path / "replay", device="cpu")
    assert result.frames == len(log["frames"]) and result.matched == result.frames
    assert [e["numbers"] for e in log["events"] if e["kind"] == "numbers"] == [[[6, 27, 0.5]]]
    # The controller really changed the picture: a replay without its moves differs.
    log["events"] = [e for e in log["events"] if e["kind"] != "signal"]
    (tmp_path / "still.set.json").write_text(json.dumps(log))
    still = replay(tmp_path / "still.set.json", tmp_path / "still", device="cpu")
    assert still.matched < still.frames


def test_midi_messages_move_a_parameter(tiny_dir):
    mido = pytest.importorskip("mido")
    from gencode.signals.midi import MidiInput

    script = write_script(tiny_dir, HEAD + 'animate "dunes" zoom (1 + 0.1 * midi.cc 1)\n')
    with LiveSession(script, fps=FPS, device="cpu", inputs=InputOptions(midi="")) as s:
        until(s, lambda st: st["frame"] >= 1 and "midi" in st["inputs"]["open"], "the stream")
        midi = s.engine.inputs.opened["midi"]
        assert isinstance(midi, MidiInput)
        message = mido.Message("control_change", control=1, value=127)
        try:  # through the virtual port `gencode`, as a DAW or a controller script sends
            with mido.open_output("gencode") as out:
                out.send(message)
        except Exception as e:  # no ALSA sequencer (a container): the port's own callback
            assert not midi.ports, e
            assert any("midi" in n for n in status(s)["inputs"]["notes"])  # said once, no crash
            midi.handle(message)
        until(s, lambda st: st["signals"].get("midi.cc 1", 0) > 0.99, "midi.cc 1 at 127")
        midi.handle(mido.Message("control_change", control=1, value=0))
        until(s, lambda st: st["signals"].get("midi.cc 1", 1) < 0.01, "midi.cc 1 back to 0")


def pulses_wav(path: Path, rate: int = 22050, seconds: float = 2.25) -> Path:
    """60 Hz bursts of 0.25 s every 0.75 s (on from 0, 0.75, 1.5), silence between."""
    t = np.arange(int(rate * seconds)) / rate
    on = (t % 0.75) < 0.25
    x = 0.6 * np.sin(2 * math.pi * 60 * t) * on
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((x * 32767).astype("<i2").tobytes())
    return path


def test_an_audio_file_drives_audio_bass_live_and_offline_alike(tiny_dir, tmp_path):
    from PIL import Image

    from gencode.live.stepper import sha256
    from gencode.render import load_script

    pulses_wav(tiny_dir / "pulses.wav")
    bass = track_signals(tiny_dir, "pulses.wav")
    assert bass is not None
    on = [bass(k * 0.75 + 0.2)["audio.bass"] for k in range(3)]  # late in each burst
    off = [bass(k * 0.75 + 0.7)["audio.bass"] for k in range(2)]  # late in each silence
    assert min(on) > 0.8 and max(off) < 0.3

    # The picture is the bass: red in silence, blue on a pulse.
    Image.new("RGB", (16, 16), (255, 0, 0)).save(tiny_dir / "red.png")
    Image.new("RGB", (16, 16), (0, 0, 255)).save(tiny_dir / "blue.png")
    text = 'model "tiny.safetensors"\nsize 16\nfps 8\naudio "pulses.wav"\n'
    text += 'a = load "red.png"\nb = load "blue.png"\nblend a b amount audio.bass\n'
    script = write_script(tiny_dir, text)
    pngs = render_frames(script, 16, tmp_path / "offline", device="cpu")[:-1]
    offline = [np.asarray(Image.open(p).convert("RGB")) for p in pngs]
    blue = [int(f[0, 0, 2]) for f in offline]  # 8 fps: a pulse every 6 frames, 2 frames long
    assert blue[1] > blue[5] + 120 and blue[7] > blue[11] + 120 and blue[13] > blue[11] + 120

    # A finite animate reads them at check time, frame by frame: its zoom is 1 + audio.bass.
    finite = 'size 16\nfps 8\naudio "pulses.wav"\nanimate 12 "dunes" zoom (1 + audio.bass)\n'
    graph = load_script(write_script(tiny_dir, HEAD + finite, "finite.gen")).graph
    zooms = [n.params["matrix"][0][0] for n in graph.nodes if n.op == "warp"]
    assert zooms == pytest.approx([1 + bass(f / FPS)["audio.bass"] for f in range(1, 12)], abs=1e-5)

    # Live: the same values at each frame's time, logged; the same pixels; the replay is exact.
    with LiveSession(script, fps=FPS, device="cpu", record=tmp_path / "a") as s:
        until(s, lambda st: st["frame"] >= 15, "sixteen frames")
    log = json.loads((tmp_path / "a.set.json").read_text())
    values = [(e["frame"], e["value"]) for e in log["events"] if e["name"] == "audio.bass"]
    assert len(values) >= 5
    assert all(v == bass(f / FPS)["audio.bass"] for f, v in values)
    shown = [(f, sha) for f, sha in log["frames"] if f < 16]
    assert len(shown) >= 5 and all(sha == sha256(offline[f]) for f, sha in shown)
    result = replay(tmp_path / "a.set.json", tmp_path / "replay", device="cpu")
    assert result.matched == result.frames == len(log["frames"])
