"""Signal names: the one table of what a script may read live (`midi.cc 1`, `osc "/x"`, `audio.bass`).

Torch-free and dependency-free: the checker imports it to type and did-you-mean signal names,
the editor's completion serves it, and `SignalBank` keys its values by `key()`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SignalDef:
    name: str  # as written in a script
    doc: str
    arg: str | None = None  # "number" | "string": what follows the name, if anything
    lo: int = 0  # the range of a number argument
    hi: int = 0
    extra: str = ""  # the optional extra (pip install '.[...]') its device needs
    smooth: float = 0.05  # seconds the bank takes to follow a step (controllers jump in 1/127s)


SIGNALS: dict[str, SignalDef] = {
    s.name: s
    for s in (
        SignalDef("midi.cc", "a MIDI control change, 0..1 (value / 127)", "number", 0, 127, "midi"),
        SignalDef("midi.note", "a MIDI note's velocity while held, 0..1", "number", 0, 127, "midi"),
        SignalDef(
            "osc", "the first argument of the last OSC message to an address", "string", extra="osc"
        ),
        SignalDef(
            "audio.level", "the loudness envelope of the sound, 0..1", extra="audio", smooth=0.0
        ),
        SignalDef(
            "audio.bass", "the bass band (20–250 Hz) envelope, 0..1", extra="audio", smooth=0.0
        ),
        SignalDef(
            "audio.mid", "the middle band (250–2000 Hz) envelope, 0..1", extra="audio", smooth=0.0
        ),
        SignalDef(
            "audio.high", "the high band (2–16 kHz) envelope, 0..1", extra="audio", smooth=0.0
        ),
        SignalDef(
            "audio.onset",
            "1 at a sudden rise of loudness, falling back to 0",
            extra="audio",
            smooth=0.0,
        ),
    )
}
FREE = SignalDef("signal", "a named number set from outside (POST /api/signal)", smooth=0.0)
# Audio envelopes (the analyser's smoothing; the bank passes them through): seconds to rise, fall.
AUDIO_ATTACK, AUDIO_RELEASE = 0.01, 0.25
# The frequency bands of the audio signals, in Hz (level is the whole spectrum).
BANDS: dict[str, tuple[float, float]] = {
    "bass": (20.0, 250.0),
    "mid": (250.0, 2000.0),
    "high": (2000.0, 16000.0),
}


def key(name: str, arg: float | str | None = None) -> str:
    """The bank's key for a signal: `midi.cc 1`, `osc /x`, `audio.bass`."""
    if arg is None:
        return name
    if isinstance(arg, float) and arg.is_integer():
        arg = int(arg)
    return f"{name} {arg}"


def definition(signal_key: str) -> SignalDef:
    """The definition behind a key (`midi.cc 1` → midi.cc); a free name (`signal("knob")`, set
    through the page or `POST /api/signal`) is a plain, unsmoothed number."""
    return SIGNALS.get(signal_key.split(" ", 1)[0], FREE)


def is_signal_word(word: str) -> bool:
    """Whether a word names a signal, or looks like one (dotted): the checker then owns it."""
    return word in SIGNALS or "." in word
