"""Editor API: the page's code editor ↔ the script file, as JSON over the preview server.

    GET  /api/source[?sha=S]  the file's text, its sha256 and diagnostics ({"same": true} if S)
    GET  /api/words           what completion and highlighting know: the checker's tables
    POST /api/check  {text}   diagnostics of unsaved text (nothing written)
    POST /api/eval   {text}   write the script atomically, then its diagnostics; the watcher
                              sees the write and renders, so the file stays the source of truth
    POST /api/number {line, col, value, text, final}
                              a slider: rebind one number literal of the last parsed script and
                              render at once; the file is written when `final`

Diagnostics are {line, col, end_line, end_col, severity, message}, from the checker's own API.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from pathlib import Path
from typing import Any

from gencode import ast
from gencode.errors import Diagnostic, GenError
from gencode.literals import NotANumber, find_number, rebind, splice

Reply = tuple[int, dict[str, Any]]


class EditorApi:
    """The editor routes of one session: `.path`, `.sets`, and `.evaluate(script)` (watch) or
    `.set_number(line, col, value) -> error text | None` (the live engine's per-frame fast path,
    called instead of check, compile and `evaluate`; the file is still written here on release)."""

    def __init__(self, session: Any):
        self.session = session
        self._lock = threading.Lock()
        self._base: tuple[str, ast.Program] | None = None  # the file's text, parsed
        self._words: tuple[str, dict[str, Any]] | None = None
        self.rebinds = 0  # slider values rendered through the fast path

    @property
    def name(self) -> str:
        return str(self.session.path)  # the file name spans carry (as `load_script` reads it)

    def get(self, path: str, query: dict[str, str]) -> Reply | None:
        if path == "/api/source":
            text = self._read()
            sha = _sha(text)
            if query.get("sha") == sha:
                return 200, {"same": True, "sha": sha}
            return 200, {"text": text, "sha": sha, "diagnostics": self.diagnostics(text)}
        if path == "/api/words":
            return 200, self.words()
        return None

    def post(self, path: str, body: dict[str, Any]) -> Reply | None:
        if path == "/api/check":
            return 200, {"diagnostics": self.diagnostics(_text(body))}
        if path == "/api/eval":
            text = _text(body)
            with self._lock:
                self._write(text)
            found = self.diagnostics(text)
            ok = not any(d["severity"] == "error" for d in found)
            return 200, {"ok": ok, "sha": _sha(text), "diagnostics": found}
        if path == "/api/number":
            return self.number(body)
        return None

    # ---- diagnostics and words ----------------------------------------------------------------

    def diagnostics(self, text: str) -> list[dict[str, Any]]:
        """Every error, warning and note of `text` checked as the script (nothing rendered)."""
        from gencode.check import check_text

        root = self.session.path.resolve().parent
        try:
            program = check_text(text, self.name, root, self.session.sets)
        except GenError as e:
            return [self._diagnostic(d) for d in e.diagnostics]
        return [self._diagnostic(d) for d in program.notes]

    def _diagnostic(self, d: Diagnostic) -> dict[str, Any]:
        span, message = d.span, d.message
        if span is None or span.line == 0 or span.file != self.name:
            if span is not None and span.line:  # in an include: shown on line 1, named
                message = f"{span}: {message}"
            return {"line": 1, "col": 1, "end_line": 1, "end_col": 1, **_sev(d, message)}
        return {
            "line": span.line,
            "col": span.column,
            "end_line": span.end_line,
            "end_col": span.end_column,
            **_sev(d, message),
        }

    def words(self) -> dict[str, Any]:
        """Completion's vocabulary; prompt words follow the model the script names."""
        from gencode.watch.words import vocabulary

        text = self._read()
        if self._words is None or self._words[0] != text:
            self._words = (text, vocabulary(text, self.name, self.session.path, self.session.sets))
        return self._words[1]

    # ---- sliders ----------------------------------------------------------------------------

    def number(self, body: dict[str, Any]) -> Reply:
        """The fast path: one literal rebound in the parsed tree; check and compile, no parse."""
        try:
            line, col = int(body["line"]), int(body["col"])
            value = float(body["value"])
            literal = str(body.get("text") or _literal(value))
        except (KeyError, TypeError, ValueError):
            return 400, {"error": "expected {line, col, value}"}
        with self._lock:
            try:
                text, program = self._parsed()
                target = find_number(program, self.name, line, col)
                new_text, _ = splice(text, target.span, literal)
                new_program = rebind(program, self.name, line, col, float(literal))
            except NotANumber as e:
                return 409, {"error": f"{e} (press Ctrl+Enter to save the text first)"}
            except GenError:
                return 409, {"error": "the script has syntax errors: fix them, then drag"}
        if hasattr(self.session, "set_number"):  # the live engine: its own per-frame fast path
            error = self.session.set_number(line, col, float(literal))
        else:
            error = self._render(new_text, new_program)
        if body.get("final"):  # after the value went in: the save that follows is the truth
            with self._lock:
                self._write(new_text)
        return 200, {"ok": error is None, "error": error, "text": new_text, "sha": _sha(new_text)}

    def _parsed(self) -> tuple[str, ast.Program]:
        """The file's text and its tree, parsed once per version of the file: every step of a
        drag rebinds the same literal (its start does not move) in the same tree."""
        from gencode.parse import parse

        text = self._read()
        if self._base is None or self._base[0] != text:
            self._base = (text, parse(text, self.name))
        return self._base

    def _render(self, text: str, program: ast.Program) -> str | None:
        """Check and compile the rebound tree and hand it to the session; an error's text."""
        from gencode.watch.words import load_program

        try:
            script = load_program(program, text, self.name, self.session.path, self.session.sets)
        except GenError as e:
            return "\n".join(d.format(e.sources) for d in e.errors) or str(e)
        self.session.evaluate(script)
        self.rebinds += 1
        return None

    # ---- the file ---------------------------------------------------------------------------

    def _read(self) -> str:
        try:
            return self.session.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return ""

    def _write(self, text: str) -> None:
        """Temp file in the same folder, fsync, rename over: never a half-written script."""
        path: Path = self.session.path
        tmp = path.with_name(f".{path.name}.editor-{os.getpid()}")
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)


def _sev(d: Diagnostic, message: str) -> dict[str, str]:
    severity = {"error": "error", "warning": "warning"}.get(d.severity, "info")
    return {"severity": severity, "message": message}


def _text(body: dict[str, Any]) -> str:
    text = body.get("text")
    if not isinstance(text, str):
        raise ValueError("expected {text}")
    return text


def _literal(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else re.sub(r"0+$", "", f"{value:.6f}")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
