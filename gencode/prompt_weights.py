"""Prompt weighting in AUTOMATIC1111's syntax: prompt text → (text, weight) runs, torch-free.

    (word)        weight × 1.1          [word]        weight ÷ 1.1
    (word:1.3)    weight × 1.3          ((word))      nesting multiplies: × 1.21
    \\( \\) \\[ \\] \\\\  a literal bracket or backslash

An opening bracket that is never closed weights everything after it; a closing bracket with no
opening one is plain text. `(a:w)` only counts as a weight inside round brackets; anywhere else
the colon is text. Runs of equal weight are merged. The text encoder (see `gencode.runtime.sd`)
multiplies each token's embedding by its run's weight.
"""

from __future__ import annotations

import re

ROUND = 1.1  # what one pair of round brackets multiplies by
SQUARE = 1 / 1.1  # what one pair of square brackets multiplies by

# One token of the syntax: an escape, a bracket, an explicit weight closing a round bracket,
# or a run of plain text (a lone colon is text too).
_TOKEN = re.compile(
    r"""
    (?P<escape>\\.)
    | (?P<weight>:\s*(?P<value>[+-]?(?:\d+\.?\d*|\.\d+))\s*\))
    | (?P<open>[(\[])
    | (?P<close>[)\]])
    | (?P<text>[^\\()\[\]:]+|:|\\$)
    """,
    re.VERBOSE | re.DOTALL,
)


def parse(prompt: str) -> list[tuple[str, float]]:
    """The prompt as (text, weight) runs; `[("", 1.0)]` for an empty prompt."""
    runs: list[list] = []  # [text, weight], weights multiplied in place as brackets close
    # Round and square brackets nest separately (as in A1111): `([a)]` closes both.
    opened: dict[str, list[int]] = {"(": [], "[": []}  # index of the first run inside each
    for m in _TOKEN.finditer(prompt):
        kind = m.lastgroup if m.lastgroup != "value" else "weight"
        if kind == "escape":
            runs.append([m.group()[1:], 1.0])
        elif kind == "open":
            opened[m.group()].append(len(runs))
        elif kind == "weight" and opened["("]:
            _scale(runs, opened["("].pop(), float(m.group("value")))
        elif kind == "close" and opened[_OPENING[m.group()]]:
            bracket = _OPENING[m.group()]
            _scale(runs, opened[bracket].pop(), ROUND if bracket == "(" else SQUARE)
        else:  # text, or a bracket/weight with nothing to close: plain text
            runs.append([m.group(), 1.0])
    for bracket, starts in opened.items():  # never closed: it weights the rest of the prompt
        for start in starts:
            _scale(runs, start, ROUND if bracket == "(" else SQUARE)
    return _merge(runs)


_OPENING = {")": "(", "]": "["}


def _scale(runs: list[list], start: int, factor: float) -> None:
    for run in runs[start:]:
        run[1] *= factor


def _merge(runs: list[list]) -> list[tuple[str, float]]:
    """Neighbouring runs of the same weight joined; empty runs dropped."""
    out: list[tuple[str, float]] = []
    for text, weight in runs:
        if not text:
            continue
        if out and out[-1][1] == weight:
            out[-1] = (out[-1][0] + text, weight)
        else:
            out.append((text, float(weight)))
    return out or [("", 1.0)]


def escape(text: str) -> str:
    """Text that `parse` reads back as itself at weight 1 (brackets and backslashes escaped)."""
    return re.sub(r"([\\()\[\]])", r"\\\1", text)


def plain(prompt: str) -> str:
    """The prompt's words without the weighting syntax."""
    return "".join(text for text, _ in parse(prompt))


def is_weighted(prompt: str) -> bool:
    """Whether any part of the prompt has a weight other than 1."""
    return any(w != 1.0 for _, w in parse(prompt))
