"""MIDI: control changes and notes from MIDI input ports → `midi.cc N` and `midi.note N`.

Through mido with the python-rtmidi backend (extra `midi`). Every input port is opened, plus a
virtual port named `gencode` where the system has virtual ports (ALSA, CoreMIDI), so a DAW or a
controller script can send to it. `midi.cc N` is value/127; `midi.note N` is velocity/127 while
the note is held, 0 after its note-off.
"""

from __future__ import annotations

from typing import Any

from gencode.signals.names import key

VIRTUAL_PORT = "gencode"


class MidiInput:
    """Feeds a bank from MIDI input ports; with no mido or no port, a note and zeros."""

    def __init__(self, bank: Any, port: str | None = None, virtual: bool = True):
        self.bank = bank
        self.ports: list[Any] = []
        try:
            import mido
        except ImportError:
            bank.note("midi.* signals read 0: install the extra (pip install '.[midi]')")
            return
        try:
            names = [port] if port else mido.get_input_names()
        except Exception as e:  # no MIDI system at all (no ALSA sequencer in a container)
            bank.note(f"midi.* signals read 0: no MIDI system here ({e})")
            return
        for name in names:
            self._open(mido, name)
        if virtual and not port:
            self._open(mido, VIRTUAL_PORT, virtual=True)
        if not self.ports:
            bank.note("midi.* signals read 0: no MIDI input port found")

    def _open(self, mido: Any, name: str, virtual: bool = False) -> None:
        try:
            self.ports.append(mido.open_input(name, virtual=virtual, callback=self.handle))
        except Exception as e:
            if not virtual:
                self.bank.note(f"MIDI port '{name}' can't be opened ({e}); its signals read 0")

    def handle(self, msg: Any) -> None:
        """One mido message → the bank (called on mido's thread, or directly by tests)."""
        if msg.type == "control_change":
            self.bank.set(key("midi.cc", msg.control), msg.value / 127.0)
        elif msg.type == "note_on":
            self.bank.set(key("midi.note", msg.note), msg.velocity / 127.0)
        elif msg.type == "note_off":
            self.bank.set(key("midi.note", msg.note), 0.0)

    def close(self) -> None:
        for p in self.ports:
            p.close()
        self.ports.clear()
