"""Frame expressions: numbers that vary per frame, written with `t` (the frame) and `beat`,
and live signals (`midi.cc 1`, `osc "/x"`, `audio.bass`: see gencode/signals/names.py).

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
VARIABLES = ("t", "beat")
_BINARY: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
}

Tree = tuple[Any, ...]  # ("var", name) | ("num", x) | ("bin", op, l, r) | ("fn", name, args)
#                        | ("sig", key): a live signal by its bank key, e.g. "midi.cc 1"
NO_SIGNALS: Mapping[str, float] = {}


class FrameExprError(ValueError):
    """A frame expression that can't be evaluated at some frame (log of 0, division by 0...)."""


@dataclass(frozen=True)
class FrameExpr:
    """A number per frame; `beat` = t × bpm / (60 × fps) with the fps and bpm in force."""

    tree: Tree
    fps: float
    bpm: float
    span: Span = NOSPAN

    def at(self, frame: float, signals: Mapping[str, float] = NO_SIGNALS) -> float:
        beat = frame * self.bpm / (60.0 * self.fps)
        try:
            value = float(_eval(self.tree, frame, beat, signals))
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


def _eval(tree: Tree, t: float, beat: float, signals: Mapping[str, float]) -> float:
    kind = tree[0]
    if kind == "num":
        return tree[1]
    if kind == "sig":
        return signals.get(tree[1], 0.0)
    if kind == "var":
        return t if tree[1] == "t" else beat
    if kind == "bin":
        return _BINARY[tree[1]](_eval(tree[2], t, beat, signals), _eval(tree[3], t, beat, signals))
    args = [_eval(a, t, beat, signals) for a in tree[2]]
    return MATH[tree[1]][1](*args)


def as_tree(v: Any) -> Tree:
    """A frame expression, a number constant or a plain number as an expression tree."""
    if isinstance(v, FrameExpr):
        return v.tree
    return ("num", float(getattr(v, "value", v)))
