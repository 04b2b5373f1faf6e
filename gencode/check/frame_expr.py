"""Frame expressions: numbers that vary per frame, written with `t` (the frame), `time`
(seconds), `beat` and live signals (`midi.cc 1`, `osc "/x"`, `audio.bass`: see
gencode/signals/names.py; or any bank key as `signal("midi.cc 1", 0.5)`).

    zoom 1.0 + 0.02 * sin(beat * pi) + 0.1 * audio.bass

A signal reads its value from the `signals` mapping given to `at` (the live engine's bank, or a
set log on replay), and 0 without one (an offline render).

Evaluated by a tiny interpreter over a whitelisted tree (never Python's eval), so a script can
only compute numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gencode.source import NOSPAN, Span

MATH: dict[str, tuple[int, Callable[..., float]]] = {
    "sin": (1, math.sin),
    "cos": (1, math.cos),
    "tan": (1, math.tan),
    "abs": (1, abs),
    "sqrt": (1, math.sqrt),
    "exp": (1, math.exp),
    "log": (1, math.log),
    "floor": (1, math.floor),
    "ceil": (1, math.ceil),
    "round": (1, round),
    "min": (2, min),
    "max": (2, max),
    "pow": (2, math.pow),
    "clamp": (3, lambda x, lo, hi: min(max(x, lo), hi)),
}
VARIABLES = ("t", "time", "beat")
SIGNAL = "signal"  # `signal("name")` or `signal("name", default)`: a live input, 0 by default
_BINARY: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
}

# ("var", name) | ("num", x[, where]) | ("bin", op, l, r) | ("fn", name, args)
# | ("sig", key, default): a live signal by its bank key (e.g. "midi.cc 1"), default when unset
# `where` (file, line, column, end line, end column) is the number literal a `num` was written as:
# the live engine rebinds it there while a slider drags it (gencode/live/numbers.py).
Tree = tuple[Any, ...]
NO_SIGNALS: Mapping[str, float] = {}


class FrameExprError(ValueError):
    """A frame expression that can't be evaluated at some frame (log of 0, division by 0...)."""


@dataclass(frozen=True)
class FrameExpr:
    """A number per frame; `time` = t / fps and `beat` = t × bpm / (60 × fps) with the fps and
    bpm in force; signals read from `signals` (their default when absent)."""

    tree: Tree
    fps: float
    bpm: float
    span: Span = NOSPAN

    def at(self, frame: float, signals: Mapping[str, float] | None = None) -> float:
        env = {"t": frame, "time": frame / self.fps, "beat": frame * self.bpm / (60.0 * self.fps)}
        try:
            value = float(_eval(self.tree, env, signals or NO_SIGNALS))
        except (ArithmeticError, ValueError) as e:
            raise FrameExprError(f"this expression fails at frame {frame:g} ({e})") from None
        if not math.isfinite(value):
            raise FrameExprError(f"this expression is not finite at frame {frame:g}")
        return value

    def signals(self) -> frozenset[str]:
        """The keys of the signals this expression reads (what the live engine must open)."""
        return frozenset(_signals(self.tree))


def _signals(tree: Tree):
    if tree[0] == "sig":
        yield tree[1]
    elif tree[0] == "bin":
        yield from _signals(tree[2])
        yield from _signals(tree[3])
    elif tree[0] == "fn":
        for a in tree[2]:
            yield from _signals(a)


def _eval(tree: Tree, env: dict[str, float], signals: Mapping[str, float]) -> float:
    kind = tree[0]
    if kind == "num":
        return tree[1]
    if kind == "var":
        return env[tree[1]]
    if kind == "sig":
        value = signals.get(tree[1])
        return float(tree[2] if value is None else value)
    if kind == "bin":
        return _BINARY[tree[1]](_eval(tree[2], env, signals), _eval(tree[3], env, signals))
    args = [_eval(a, env, signals) for a in tree[2]]
    return MATH[tree[1]][1](*args)


def as_tree(v: Any) -> Tree:
    """A frame expression, a number constant or a plain number as an expression tree."""
    if isinstance(v, FrameExpr):
        return v.tree
    span = getattr(v, "span", NOSPAN)
    if span is NOSPAN or not span.line:
        return ("num", float(getattr(v, "value", v)))
    where = (span.file, span.line, span.column, span.end_line, span.end_column)
    return ("num", float(v.value), where)
