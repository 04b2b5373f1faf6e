"""Signals: controllers and sound → numbers a live script reads (`midi.cc 1`, `osc "/x"`,
`audio.bass`).

`names` is the torch-free table of signal names (the checker's); `bank.SignalBank` gives
name → float at a frame time from its sources — `midi` (mido + python-rtmidi), `osc`
(python-osc, UDP on 127.0.0.1) and `audio` (FFT band envelopes of the input device through
sounddevice, or of a WAV file played in sync). A missing device or extra reads 0 with one note.
"""

from gencode.signals.names import SIGNALS, key

__all__ = ["SIGNALS", "key"]
