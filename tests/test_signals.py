"""Signals: OSC over UDP, MIDI through mido and a WAV file move their values in a SignalBank;
values are smoothed and every change is logged, so a Replay of the log reads the same numbers;
a missing extra reads 0 with one note. The language side: signals check, type and evaluate in
frame expressions, and an unknown one is an error with a did-you-mean."""

from __future__ import annotations

import math
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from gencode.check import check_text
from gencode.check.frame_expr import FrameExpr
from gencode.errors import GenError
from gencode.signals.audio import HOP, Analyser, AudioDevice, AudioFile
from gencode.signals.bank import Replay, SignalBank
from gencode.signals.names import SIGNALS, key

pytestmark = pytest.mark.timeout(60)


def reads(bank: SignalBank, k: str, want, t0: float = 0.0, timeout: float = 5.0) -> float:
    """Read `k` at advancing frame times until `want(value)`; the value."""
    end, t = time.monotonic() + timeout, t0
    while time.monotonic() < end:
        t += 0.05
        value = bank.read([k], t)[k]
        if want(value):
            return value
        time.sleep(0.01)
    raise AssertionError(f"{k} never moved as wanted; last {value}")


def test_osc_messages_move_a_signal_and_replay_reproduces_it() -> None:
    from pythonosc.udp_client import SimpleUDPClient

    from gencode.signals.osc import OscServer

    log: list[tuple[float, str, float]] = []
    with SignalBank(record=lambda t, k, v: log.append((t, k, v))) as bank:
        osc = OscServer(bank, 0)
        bank.add(osc)
        assert osc.port > 0 and not bank.notes
        k = key("osc", "/fader")
        assert bank.read([k], 0.0)[k] == 0.0
        SimpleUDPClient("127.0.0.1", osc.port).send_message("/fader", 0.8)
        assert reads(bank, k, lambda v: v > 0.79) <= 0.8  # smoothed toward 0.8, never past
        SimpleUDPClient("127.0.0.1", osc.port).send_message("/other", [3, "x"])
        assert reads(bank, key("osc", "/other"), lambda v: v > 2.9) > 2.9
    changes = [(t, v) for t, kk, v in log if kk == k]
    assert len(changes) >= 3 and changes[0][1] == 0.0
    replay = Replay(log)
    for t, v in changes:
        assert replay.read([k], t)[k] == v


def test_midi_messages_move_signals() -> None:
    mido = pytest.importorskip("mido")
    from gencode.signals.midi import MidiInput

    with SignalBank() as bank:
        midi = MidiInput(bank, virtual=False)
        bank.add(midi)
        midi.handle(mido.Message("control_change", control=1, value=127))
        midi.handle(mido.Message("note_on", note=60, velocity=64))
        cc, note = key("midi.cc", 1), key("midi.note", 60)
        assert reads(bank, cc, lambda v: v > 0.99) <= 1.0
        assert reads(bank, note, lambda v: abs(v - 64 / 127) < 1e-3) > 0.5
        midi.handle(mido.Message("note_off", note=60))
        assert reads(bank, note, lambda v: v < 1e-3) >= 0.0


def test_midi_through_a_virtual_port() -> None:
    mido = pytest.importorskip("mido")
    from gencode.signals.midi import MidiInput

    with SignalBank() as bank:
        try:
            midi = MidiInput(bank, port=None, virtual=True)
            out = mido.open_output("gencode")
        except Exception as e:  # no ALSA sequencer (containers) or no rtmidi backend
            pytest.skip(f"no virtual MIDI ports here: {e}")
        bank.add(midi)
        with out:
            out.send(mido.Message("control_change", control=7, value=64))
            assert reads(bank, key("midi.cc", 7), lambda v: abs(v - 64 / 127) < 1e-3) > 0


def tone_wav(path: Path, rate: int = 22050) -> None:
    """1 s silence, 1 s of 80 Hz, 1 s of 5 kHz (16-bit mono)."""
    t = np.arange(rate) / rate
    x = np.concatenate(
        [np.zeros(rate), 0.5 * np.sin(2 * math.pi * 80 * t), 0.5 * np.sin(2 * math.pi * 5000 * t)]
    )
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((x * 32767).astype("<i2").tobytes())


def test_a_wav_file_drives_audio_bass(tmp_path: Path) -> None:
    tone_wav(tmp_path / "tones.wav")
    names = [key(f"audio.{n}") for n in ("level", "bass", "mid", "high", "onset")]
    bank = SignalBank()
    bank.add(AudioFile(bank, tmp_path / "tones.wav"))
    at = {t: bank.read(names, t) for t in (0.5, 1.03, 1.5, 1.9, 2.5, 3.5)}
    assert at[0.5]["audio.bass"] == 0.0 and at[0.5]["audio.level"] == 0.0  # silence
    assert at[1.5]["audio.bass"] > 0.8 and at[1.5]["audio.high"] < 0.3  # 80 Hz at -6 dBFS
    assert at[2.5]["audio.high"] > 0.8 and at[2.5]["audio.bass"] < 0.3  # 5 kHz
    assert at[1.03]["audio.onset"] > 0.5 and at[1.9]["audio.onset"] < 0.1  # the tone's start
    assert at[3.5]["audio.level"] == 0.0  # past the end: silence
    again = SignalBank()
    again.add(AudioFile(again, tmp_path / "tones.wav"))
    assert again.read(names, 1.5) == bank.read(names, 1.5)  # the file is analysed the same


def test_the_input_device_analyser_on_blocks() -> None:
    rate = 22050
    analyser = Analyser(rate)
    t = np.arange(HOP) / rate
    for i in range(40):
        out = analyser.feed(0.5 * np.sin(2 * math.pi * 80 * (t + i * HOP / rate)))
    assert out["bass"] > 0.8 and out["high"] < 0.3


def test_no_input_device_reads_zero_with_a_note() -> None:
    bank = SignalBank()
    AudioDevice(bank)  # this machine has no sound card (or no sounddevice): a note, no crash
    if not bank.notes:
        pytest.skip("this machine has an audio input")
    assert bank.notes[0].startswith("audio.* signals read 0")
    assert bank.read(["audio.bass"], 0.1) == {"audio.bass": 0.0}


def test_a_missing_extra_reads_zero_with_one_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pythonosc", None)
    monkeypatch.setitem(sys.modules, "pythonosc.dispatcher", None)
    monkeypatch.setitem(sys.modules, "mido", None)
    notes: list[str] = []
    with SignalBank(note=notes.append) as bank:
        bank.open(["osc /x", "midi.cc 1"])
        bank.open(["osc /x"])
        assert bank.read(["osc /x", "midi.cc 1"], 0.1) == {"osc /x": 0.0, "midi.cc 1": 0.0}
    assert len(notes) == 2 and "'.[midi]'" in notes[0] and "'.[osc]'" in notes[1]


def test_smoothing_follows_a_step_in_its_time() -> None:
    bank = SignalBank()
    k = key("midi.cc", 1)
    bank.read([k], 0.0)
    bank.set(k, 1.0)
    tau = SIGNALS["midi.cc"].smooth
    assert bank.read([k], tau)[k] == pytest.approx(1 - math.exp(-1), rel=1e-6)


def frame_expr(text: str) -> FrameExpr:
    """The `zoom` setting of a script as the checker leaves it."""
    from gencode.check.program import check
    from gencode.check.state import State
    from gencode.models.catalog import ModelCatalog
    from gencode.parse import parse

    state = State(ModelCatalog(), Path.cwd())
    check(parse(f"fps 10\nbpm 60\nzoom {text}\n"), state)
    value = state.setting("zoom")
    assert isinstance(value, FrameExpr)
    return value


def test_signals_in_frame_expressions() -> None:
    fe = frame_expr('1 + 0.5 * audio.bass + midi.cc 1 * sin(t) + osc "/x"')
    assert fe.signals() == {"audio.bass", "midi.cc 1", "osc /x"}
    assert fe.at(3) == 1.0  # offline: signals read 0
    live = {"audio.bass": 0.5, "midi.cc 1": 1.0, "osc /x": 2.0}
    assert fe.at(3, live) == pytest.approx(1 + 0.25 + math.sin(3) + 2.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("audio.bas", "unknown signal 'audio.bas' — did you mean 'audio.bass'?"),
        ("midi.c 1", "unknown signal 'midi.c' — did you mean 'midi.cc'?"),
        ("midi.cc 128", "'midi.cc' takes a whole number from 0 to 127"),
        ("midi.cc", "'midi.cc' takes one number"),
        ("osc 3", "'osc' takes an address string"),
        ("audio.level 2", "'audio.level' takes no argument"),
    ],
)
def test_bad_signals_are_check_errors(text: str, message: str) -> None:
    with pytest.raises(GenError) as e:
        check_text(f"zoom 1 + {text}\n", "s.gen")
    assert message in str(e.value) and "s.gen:1:" in str(e.value)


def test_a_signal_name_is_not_bindable() -> None:
    with pytest.raises(GenError, match="'audio.bass' is a signal"):
        check_text("audio.bass = 3\n")


def test_the_signals_command_prints_osc_values() -> None:
    import socket
    import threading

    from click.testing import CliRunner
    from pythonosc.udp_client import SimpleUDPClient

    from gencode.cli.main import cli

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def send() -> None:
        client = SimpleUDPClient("127.0.0.1", port)
        for _ in range(20):
            time.sleep(0.05)
            client.send_message("/fader", 0.8)

    threading.Thread(target=send, daemon=True).start()
    args = ["signals", "osc /fader", "--osc-port", str(port), "--seconds", "1.5"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    values = [
        float(line.split("= ")[1]) for line in result.output.splitlines() if "osc /fader" in line
    ]
    assert values[0] == 0.0 and values[-1] > 0.75, result.output
    bad = CliRunner().invoke(cli, ["signals", "audio.bas"])
    assert bad.exit_code == 2 and "did you mean 'audio.bass'" in bad.output


def test_the_audio_statement_is_checked(tmp_path: Path) -> None:
    tone_wav(tmp_path / "tones.wav")
    (tmp_path / "fake.wav").write_bytes(b"RIFF\0\0\0\0WAVEjunk")
    (tmp_path / "song.mp3").write_bytes(b"ID3" + bytes(20))
    ok = check_text('audio "tones.wav"\nzoom 1 + audio.bass\n', str(tmp_path / "s.gen"), tmp_path)
    assert ok.audio == "tones.wav"
    cases = {
        'audio "gone.wav"': "s.gen:1:7: error: no such audio file: gone.wav",
        'audio "fake.wav"': "s.gen:1:7: error: audio 'fake.wav': not a PCM WAV file",
        'audio "song.mp3"': "s.gen:1:7: error: audio 'song.mp3': MP3 is not read here",
        'audio "../up.wav"': "s.gen:1:7: error: '../up.wav' is outside the script's folder",
        'audio "tones.wav"\naudio "tones.wav"': "s.gen:2:7: error: one audio file per script",
        'x = audio "tones.wav"': "s.gen:1:5: error: 'audio' is a statement of its own",
    }
    for text, message in cases.items():
        with pytest.raises(GenError) as e:
            check_text(text + "\n", str(tmp_path / "s.gen"), tmp_path)
        assert message in str(e.value), str(e.value)
