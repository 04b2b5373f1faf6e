"""Audio: sound → `audio.level`, `audio.bass`, `audio.mid`, `audio.high`, `audio.onset`.

FFT band envelopes (Hann window of 2048 samples every 512), each band's amplitude mapped from
-60..0 dBFS onto 0..1 and followed with a fast rise and a slower fall; `onset` jumps to 1 when
the level rises by 6 dB or more within one hop and falls back. Two sources:

- `AudioFile`: a WAV file (decoded with the standard `wave` module and numpy) played in sync
  with the frames: the value at a frame time is the analysis at that point of the file, computed
  once at load, so a replay reads exactly the same numbers;
- `AudioDevice`: the default input device through sounddevice (extra `audio`).
"""

from __future__ import annotations

import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from gencode.signals.names import AUDIO_ATTACK, AUDIO_RELEASE, BANDS, key
from gencode.signals.smooth import Follower

WINDOW, HOP = 2048, 512
FLOOR_DB = -60.0  # the quietest level that still reads above 0
ONSET_RISE = 0.1  # a level jump (in 0..1 units: 6 dB) within one hop that counts as an onset
NAMES = ("level", *BANDS, "onset")


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """A PCM WAV file → mono float samples in -1..1 and the sample rate."""
    with wave.open(str(path), "rb") as w:
        width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
        raw = w.readframes(w.getnframes())
    if width == 3:  # 24-bit: widen each sample to 32 bits
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3)
        raw = np.concatenate([np.zeros((len(b), 1), np.uint8), b], axis=1).tobytes()
        width = 4
    dtype = {1: np.uint8, 2: np.int16, 4: np.int32}[width]
    x = np.frombuffer(raw, dtype).astype(np.float64)
    x = (x - 128.0) / 128.0 if width == 1 else x / float(2 ** (8 * width - 1))
    return x.reshape(-1, channels).mean(axis=1), rate


def band_levels(frames: np.ndarray, rate: int) -> dict[str, np.ndarray]:
    """Windows of samples (n, WINDOW) → each band's level in 0..1, per window."""
    win = np.hanning(frames.shape[-1])
    spec = np.abs(np.fft.rfft(frames * win, axis=-1)) * 2.0 / win.sum()  # sine amplitude
    freqs = np.fft.rfftfreq(frames.shape[-1], 1.0 / rate)
    amps = {"level": np.sqrt((spec**2).sum(axis=-1))}
    for name, (lo, hi) in BANDS.items():
        band = (freqs >= lo) & (freqs < hi)
        amps[name] = np.sqrt((spec[..., band] ** 2).sum(axis=-1))
    return {
        n: np.clip(1.0 - 20.0 * np.log10(a + 1e-12) / FLOOR_DB, 0.0, 1.0) for n, a in amps.items()
    }


class Envelopes:
    """Per-hop band levels → smoothed envelopes and the onset pulse (state kept across hops)."""

    def __init__(self, hop_seconds: float):
        self.dt = hop_seconds
        self.followers = {n: Follower(AUDIO_ATTACK, AUDIO_RELEASE) for n in NAMES}
        self.previous = 0.0

    def step(self, levels: dict[str, float]) -> dict[str, float]:
        out = {n: self.followers[n].step(levels[n], self.dt) for n in NAMES if n != "onset"}
        rise = levels["level"] - self.previous
        self.previous = levels["level"]
        out["onset"] = self.followers["onset"].step(1.0 if rise >= ONSET_RISE else 0.0, self.dt)
        return out


class AudioFile:
    """A sound file played in sync: its analysis at a frame time (seconds into the set)."""

    def __init__(self, bank: Any, path: str | Path):
        self.bank, self.path = bank, Path(path)
        self.player: Any = None  # sounddevice once playing; False when it can't
        samples, self.rate = read_wav(path)
        self.samples = samples.astype(np.float32)
        self.duration = len(samples) / self.rate
        self.table = analyse(samples, self.rate)

    def values(self, time: float) -> dict[str, float]:
        """The envelopes at `time`: the last hop that ended by then; silence past the end."""
        i = int(time * self.rate // HOP)
        n = len(self.table["level"])
        return {
            key(f"audio.{name}"): float(t[i]) if 0 <= i < n else 0.0
            for name, t in self.table.items()
        }

    def play(self, at: float) -> None:
        """Play the file from `at` seconds on the default output (once); a note without one."""
        if self.player is not None:
            return
        self.player = False
        try:
            import sounddevice as sd

            sd.play(self.samples[int(at * self.rate) :], self.rate)
            self.player = sd
        except Exception as e:  # no sounddevice, no PortAudio, no output device
            why = "install the extra (pip install '.[audio]')" if isinstance(e, ImportError) else e
            self.bank.note(f"{self.path.name} drives audio.* but plays silently: {why}")

    def close(self) -> None:
        if self.player:
            self.player.stop()
        self.player = None


def analyse(samples: np.ndarray, rate: int, chunk: int = 512) -> dict[str, np.ndarray]:
    """Mono samples → each envelope per hop (hop i ends at sample i × HOP), in chunks of windows
    so a long track never holds all its windows in memory at once."""
    padded = np.concatenate([np.zeros(WINDOW), samples])
    windows = np.lib.stride_tricks.sliding_window_view(padded, WINDOW)[::HOP]  # (n, WINDOW)
    env = Envelopes(HOP / rate)
    rows = []
    for start in range(0, len(windows), chunk):
        levels = band_levels(windows[start : start + chunk], rate)
        count = len(levels["level"])
        rows += [env.step({n: float(levels[n][i]) for n in levels}) for i in range(count)]
    return {n: np.array([r[n] for r in rows]) for n in NAMES}


class Analyser:
    """Blocks of samples as they arrive → the envelopes after each block (a live input)."""

    def __init__(self, rate: int):
        self.rate = rate
        self.buffer = np.zeros(WINDOW)
        self.env = Envelopes(HOP / rate)

    def feed(self, block: np.ndarray) -> dict[str, float]:
        self.buffer = np.concatenate([self.buffer, block])[-WINDOW:]
        levels = band_levels(self.buffer[None, :], self.rate)
        return self.env.step({n: float(a[0]) for n, a in levels.items()})


class AudioDevice:
    """The default input device, analysed as it plays; with no sounddevice or device, a note."""

    def __init__(self, bank: Any, rate: int = 44100, device: str | None = None):
        self.bank, self.stream = bank, None
        self.analyser = Analyser(rate)
        try:
            import sounddevice as sd
        except (ImportError, OSError) as e:  # OSError: the PortAudio library is missing
            extra = "install the extra (pip install '.[audio]')"
            bank.note(f"audio.* signals read 0: {extra if isinstance(e, ImportError) else e}")
            return
        try:
            self.stream = sd.InputStream(
                samplerate=rate, channels=1, blocksize=HOP, callback=self._block, device=device
            )
            self.stream.start()
        except Exception as e:  # no input device, or it is busy
            self.stream = None
            bank.note(f"audio.* signals read 0: no audio input ({e})")

    def _block(self, data: np.ndarray, frames: int, time: Any, status: Any) -> None:
        for name, v in self.analyser.feed(data[:, 0]).items():
            self.bank.set(key(f"audio.{name}"), v)

    def close(self) -> None:
        if self.stream is not None:
            self.stream.stop()
            self.stream.close()
            self.stream = None


def track_signals(root: Path, audio: str | None) -> Callable[[float], dict[str, float]] | None:
    """A script's `audio "track.wav"` → its audio.* values at a time in seconds (what an offline
    render reads at each frame, as the stream does); None for a script without one."""
    return AudioFile(None, root / audio).values if audio else None
