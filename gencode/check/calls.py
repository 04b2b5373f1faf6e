"""Calls: group a call's words into positional and keyword arguments by the op's signature,
type-check and range-check each, fill defaults from the settings, then apply the op's rule.
"""

from __future__ import annotations

import math

from gencode import ast
from gencode import types as T
from gencode.check.exprs import Typed, evaluate, type_of
from gencode.check.state import State
from gencode.errors import did_you_mean
from gencode.ir import Const, Sched
from gencode.ops.signatures import Arg, FromSetting, OpSignature
from gencode.ops.table import OPS, SIGNATURES, rule_of
from gencode.samplers.names import sampler_problem
from gencode.settings import SETTINGS


def call(state: State, e: ast.Call) -> Typed:
    """Check a call `op word...` and build its typed value."""
    head = e.name.id
    if head in state.bindings:
        what = T.words([type_of(state.bindings[head])])
        raise state.error(
            e.name.span,
            f"'{head}' is {what}, not an op; to subtract write '{head} - x' with spaces",
        )
    if head in OPS and OPS[head].statement:
        raise state.error(e.name.span, f"'{head}' is a statement of its own, not a value")
    sig = SIGNATURES.get(head)
    if sig is None:
        if head in SETTINGS:
            raise state.error(
                e.name.span, f"'{head}' is a setting: write it at the start of a line"
            )
        hint = did_you_mean(head, list(SIGNATURES) + list(SETTINGS) + list(state.bindings))
        raise state.error(e.name.span, f"unknown op '{head}'{hint}")
    args = bind_arguments(state, sig, e)
    return rule_of(head)(state, args, e)


def bind_arguments(state: State, sig: OpSignature, e: ast.Call) -> dict[str, Typed | None]:
    """Words → {arg name: typed value}; defaults filled; every problem reported with its span."""
    keywords = _keyword_names(state, sig)
    positional, given = [], {}
    words, i = e.words, 0
    while i < len(words):
        w = words[i]
        if isinstance(w, ast.Name) and w.id in keywords and w.id not in state.bindings:
            arg = sig.keyword(w.id) or Arg(w.id, (T.NUMBER,), lo=-10, hi=10)
            if w.id in given:
                raise state.error(w.span, f"'{w.id}' is given twice")
            if i + 1 >= len(words) or _is_keyword(words[i + 1], keywords, state):
                at = words[i + 1].span if i + 1 < len(words) else _after(w.span)
                raise state.error(at, f"expected {T.words(arg.types)} after '{w.id}'")
            given[w.id] = (arg, words[i + 1])
            i += 2
            continue
        positional.append(w)
        i += 1
    values = _bind_positional(state, sig, e, positional, given)
    for key, (arg, word) in given.items():
        values[key] = check_value(
            state, arg, evaluate(state, word, arg.types), word.span, f"'{key}'"
        )
    return _fill_defaults(state, sig, values)


def _bind_positional(state, sig, e, positional, given) -> dict[str, Typed | None]:
    values: dict[str, Typed | None] = {}
    slots = list(sig.positional)
    for w in positional:
        symbol_slot = _symbol_slot(slots, w)
        if (
            symbol_slot is None
            and isinstance(w, ast.Name)
            and not slots
            and w.id not in state.bindings
        ):
            hint = did_you_mean(w.id, _keyword_names(state, sig))
            if sig.open_keywords and not hint:
                hint = _no_attributes(state)
            raise state.error(w.span, f"unknown keyword '{w.id}' for '{sig.name}'{hint}")
        if symbol_slot is None and not slots:
            raise state.error(w.span, f"too many values for '{sig.name}'{_usage(sig)}")
        arg = symbol_slot or slots[0]
        if (
            symbol_slot is None
            and not arg.required
            and len(slots) > 1
            and isinstance(w, ast.String | ast.Schedule)
            and T.STRING not in arg.types
        ):
            # An optional leading value was left out: `save "x.png"`, `animate {0: "dunes"}`.
            slots.remove(arg)
            arg = slots[0]
        slots.remove(arg)
        values[arg.name] = check_value(
            state, arg, evaluate(state, w, arg.types), w.span, _what(sig, arg)
        )
    missing = [a for a in slots if a.required and a.name not in given]
    if missing:
        raise state.error(e.span, f"'{sig.name}' needs {_need(missing[0])}{_usage(sig)}")
    return values


def _symbol_slot(slots: list[Arg], w: ast.Expr) -> Arg | None:
    """The optional symbol argument that the bare word `w` is one of the choices of, if any."""
    return next(
        (
            a
            for a in slots
            if a.choices and isinstance(w, ast.Name) and w.id in a.choices and not a.required
        ),
        None,
    )


def _fill_defaults(state: State, sig: OpSignature, values: dict) -> dict:
    for arg in sig.positional + sig.keywords:
        if arg.name not in values:
            d = arg.default
            values[arg.name] = state.setting(d.name) if isinstance(d, FromSetting) else d
    return values


def check_value(state: State, arg: Arg, v: Typed, span, what: str) -> Typed:
    """`v` if it fits `arg` (type, range, integer, choices); else a clear error at `span`."""
    t = type_of(v)
    if t not in arg.types:
        if t == T.NUMBER and T.LATENT in arg.types:
            return v  # a seed number standing for its noise; the op's rule converts it
        raise state.error(span, f"expected {T.words(arg.types)} for {what}, got {T.words([t])}")
    if isinstance(v, Const) and t == T.NUMBER:
        _check_number(state, arg, v.value, span, what)
    if isinstance(v, Sched) and t == T.SCHEDULE:
        for _, x in v.keyframes:
            _check_number(state, arg, x, span, what)
    if isinstance(v, Const) and t == T.SYMBOL and arg.choices and v.value not in arg.choices:
        hint = did_you_mean(v.value, arg.choices)
        raise state.error(
            span, f"unknown {arg.name} '{v.value}'{hint} (choose from {', '.join(arg.choices)})"
        )
    if isinstance(v, Const) and t == T.STRING and arg.name == "sampler":
        problem = sampler_problem(str(v.value))  # "diffusers:NAME", checked without diffusers
        if problem:
            raise state.error(span, problem)
    return v


def _check_number(state: State, arg: Arg, x: float | int, span, what: str) -> None:
    """Range and integer checks, exact for ints (a seed of 2^63 - 1 is not rounded to 2^63)."""
    if not math.isfinite(x):
        raise state.error(span, f"{what} must be a finite number, got {x}")
    if arg.integer and not float(x).is_integer():
        raise state.error(span, f"{what} must be a whole number, got {x:g}")
    if (arg.lo is not None and x < arg.lo) or (arg.hi is not None and x > arg.hi):
        raise state.error(
            span, f"{what} must be between {_num(arg.lo)} and {_num(arg.hi)}, got {_num(x)}"
        )


def _num(x: float | int | None) -> str:
    """A number as written: ints in full (seeds), floats short."""
    return str(x) if isinstance(x, int) else f"{x:g}"


def number_text(x: float | int | None, integer: bool = False) -> str:
    """A number for a message: whole-number bounds in full (a seed bound is
    9223372036854775807, not 9.22337e+18), others as Python's `g` writes them."""
    if x is None:
        return "?"
    return str(int(x)) if integer and float(x).is_integer() else _num(x)


def _no_attributes(state: State) -> str:
    """Why a model-defined keyword (an attribute to edit) is unknown, when the model has none."""
    model = state.model(None)
    if model.attributes:
        return f" (model '{model.name}' edits {', '.join(model.attributes)})"
    return f": model '{model.name}' has no attributes to edit; a faces model has them (model faces)"


def _keyword_names(state: State, sig: OpSignature) -> set[str]:
    names = {a.name for a in sig.keywords}
    if sig.open_keywords:
        names |= set(state.model(None).attributes)
    return names


def _is_keyword(w: ast.Expr, keywords: set[str], state: State) -> bool:
    return isinstance(w, ast.Name) and w.id in keywords and w.id not in state.bindings


def _after(span):
    return type(span)(span.file, span.end_line, span.end_column, span.end_line, span.end_column + 1)


def _what(sig: OpSignature, arg: Arg) -> str:
    return f"'{arg.name}' of '{sig.name}'" if not arg.choices else f"'{'|'.join(arg.choices)}'"


def _need(arg: Arg) -> str:
    if arg.choices:
        return f"one of {', '.join(arg.choices)}"
    return f"{T.words(arg.types)} for '{arg.name}'"


def _usage(sig: OpSignature) -> str:
    pos = " ".join(a.name.upper() if a.required else f"[{a.name.upper()}]" for a in sig.positional)
    kws = " ".join(f"[{a.name} …]" for a in sig.keywords)
    return f"; usage: {sig.name} {pos} {kws}".rstrip()
