"""OSC: messages on UDP 127.0.0.1 → `osc "/address"` signals (the first numeric argument).

Through python-osc (extra `osc`). Port 0 picks a free port (`.port` says which). Loopback only,
like the preview server: a venue's network can't reach the performer's machine.
"""

from __future__ import annotations

import threading
from typing import Any

from gencode.signals.names import key

HOST = "127.0.0.1"
DEFAULT_PORT = 9000  # `gencode live` and `gencode signals` listen here unless told


class OscServer:
    """A UDP OSC server feeding a bank; with no python-osc or a taken port, a note and zeros."""

    def __init__(self, bank: Any, port: int = 0):
        self.bank = bank
        self.server: Any = None
        try:
            from pythonosc.dispatcher import Dispatcher
            from pythonosc.osc_server import ThreadingOSCUDPServer
        except ImportError:
            bank.note("osc signals read 0: install the extra (pip install '.[osc]')")
            return
        dispatcher = Dispatcher()
        dispatcher.set_default_handler(self.handle)
        try:
            self.server = ThreadingOSCUDPServer((HOST, port), dispatcher)
        except OSError as e:
            bank.note(f"osc signals read 0: can't listen on {HOST}:{port} ({e.strerror or e})")
            return
        threading.Thread(target=self.server.serve_forever, name="gencode-osc", daemon=True).start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1]) if self.server is not None else 0

    def handle(self, address: str, *args: Any) -> None:
        """An OSC message: its first number becomes the address's value (a bare message is 1)."""
        numbers = [a for a in args if isinstance(a, int | float) and not isinstance(a, bool)]
        if numbers:
            self.bank.set(key("osc", address), float(numbers[0]))
        elif not args:
            self.bank.set(key("osc", address), 1.0)

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
