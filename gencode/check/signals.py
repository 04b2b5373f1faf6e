"""Signals in expressions: `midi.cc 1`, `midi.note 60`, `osc "/x"`, `audio.bass` → a frame
expression that reads the signal live (see gencode/signals/names.py for the table).

An unknown signal is an error with a did-you-mean; an argument is checked against its kind and
range (a MIDI number 0..127, an OSC address starting with '/').
"""

from __future__ import annotations

from gencode import ast
from gencode import types as T
from gencode.check.frame_expr import FrameExpr
from gencode.check.state import State
from gencode.errors import did_you_mean
from gencode.ir import Const
from gencode.signals.names import SIGNALS, SignalDef, key

EXAMPLE = {"number": "1", "string": '"/x"'}


def signal(state: State, e: ast.Name | ast.Call) -> FrameExpr:
    """The frame expression reading the signal `e` names."""
    name, words = (e, ()) if isinstance(e, ast.Name) else (e.name, e.words)
    d = SIGNALS.get(name.id)
    if d is None:
        hint = did_you_mean(name.id, SIGNALS)
        raise state.error(name.span, f"unknown signal '{name.id}'{hint}")
    arg = _argument(state, d, name, words)
    fps, bpm = float(state.setting("fps")), float(state.setting("bpm"))
    return FrameExpr(("sig", key(d.name, arg)), fps, bpm, e.span)


def _argument(
    state: State, d: SignalDef, name: ast.Name, words: tuple[ast.Expr, ...]
) -> float | str | None:
    if d.arg is None:
        if words:
            raise state.error(words[0].span, f"'{d.name}' takes no argument")
        return None
    if len(words) != 1:
        where = words[1].span if words else name.span
        raise state.error(where, f"'{d.name}' takes one {d.arg}, like {d.name} {EXAMPLE[d.arg]}")
    from gencode.check.exprs import evaluate

    v = evaluate(state, words[0])
    if d.arg == "number":
        x = float(v.value) if isinstance(v, Const) and v.type == T.NUMBER else None
        if x is None or not x.is_integer() or not d.lo <= x <= d.hi:
            raise state.error(
                words[0].span, f"'{d.name}' takes a whole number from {d.lo} to {d.hi}"
            )
        return x
    if not (isinstance(v, Const) and v.type == T.STRING and str(v.value).startswith("/")):
        raise state.error(words[0].span, f"'{d.name}' takes an address string like \"/x\"")
    return str(v.value)
