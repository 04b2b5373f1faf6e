"""Format: .gen text → the same script in canonical layout (`gencode fmt`, editors' formatting).

Input: script text. Output: text whose AST equals the input's (so its graph is the same), with
comments and blank-line groups kept; formatting formatted text changes nothing.
"""

from __future__ import annotations

from gencode.errors import GenError
from gencode.format.layout import Layout
from gencode.parse import parse
from gencode.tokens import comments


def format_text(text: str, filename: str = "<script>") -> str:
    """The canonical form of a script; GenError when it does not parse."""
    program = parse(text, filename)
    notes = comments(text)
    out = Layout(text, notes).program(program)
    if _same(out, program, notes):
        return out
    # A construct the printer gets wrong must never change a script: keep such statements as
    # written (found one by one, so the rest is still formatted).
    verbatim = {i for i, s in enumerate(program.statements) if not _stmt_ok(text, s, notes)}
    out = Layout(text, notes).program(program, verbatim)
    if not _same(out, program, notes):
        raise GenError.at(None, f"{filename}: fmt could not keep this script's meaning; left as is")
    return out


def _same(out: str, program, notes: dict[int, str]) -> bool:
    try:
        again = parse(out)
    except GenError:
        return False
    # repr, not ==: it tells 2 (an exact int) from 2.0, which == does not.
    return repr(again) == repr(program) and sorted(comments(out).values()) == sorted(notes.values())


def _stmt_ok(text: str, s, notes: dict[int, str]) -> bool:
    from gencode import ast

    alone = ast.Program((s,))
    try:
        printed = Layout(text, notes).program(alone)
        return repr(parse(printed)) == repr(alone)
    except Exception:  # noqa: BLE001 — any failure means: keep the statement as written
        return False


__all__ = ["format_text"]
