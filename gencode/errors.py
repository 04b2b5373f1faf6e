"""Diagnostics: errors, warnings and notes that point at source, printed like a good compiler's.

dunes.gen:3:1: error: unknown op 'difuse' — did you mean 'diffuse'?
    3 | difuse "dunes"
      | ^~~~~~
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable
from dataclasses import dataclass

from gencode.source import Span


@dataclass(frozen=True)
class Diagnostic:
    severity: str  # "error" | "warning" | "note"
    message: str
    span: Span | None = None

    def format(self, sources: dict[str, str] | None = None) -> str:
        """`file:line:col: severity: message`, then the source line and a caret when known."""
        if self.span is None or self.span.line == 0:
            return f"{self.severity}: {self.message}"
        head = f"{self.span}: {self.severity}: {self.message}"
        text = (sources or {}).get(self.span.file)
        if text is None:
            return head
        lines = _lines(text)
        if not 0 < self.span.line <= len(lines):
            return head
        return head + "\n" + _excerpt(lines[self.span.line - 1], self.span)


@functools.lru_cache(maxsize=8)
def _lines(text: str) -> tuple[str, ...]:
    """A source's lines, split once however many diagnostics point into it."""
    return tuple(text.splitlines())


EXCERPT_WIDTH = 120  # a longer source line is shown as a window around the caret


def _excerpt(line: str, span: Span) -> str:
    num = str(span.line)
    pad = " " * len(num)
    start = max(span.column - 1, 0)
    end = span.end_column - 1 if span.end_line == span.line else len(line)
    if len(line) > EXCERPT_WIDTH:
        cut = max(0, min(start - EXCERPT_WIDTH // 4, len(line) - EXCERPT_WIDTH))
        line = line[cut : cut + EXCERPT_WIDTH]
        start, end = start - cut, min(end - cut, EXCERPT_WIDTH)
    width = max(end - start, 1)
    caret = "^" + "~" * (min(width, max(len(line) - start, 1)) - 1)
    prefix = "".join(c if c == "\t" else " " for c in line[:start])
    return f"    {num} | {line}\n    {pad} | {prefix}{caret}"


class GenError(Exception):
    """The one error type of gencode's front end: one or more diagnostics about a script."""

    def __init__(self, diagnostics: Iterable[Diagnostic], sources: dict[str, str] | None = None):
        self.diagnostics = tuple(diagnostics)
        self.sources = dict(sources or {})
        super().__init__()

    def __str__(self) -> str:
        return self.format()  # on demand: a CLI prints the diagnostics itself, once

    @classmethod
    def at(cls, span: Span | None, message: str) -> GenError:
        return cls([Diagnostic("error", message, span)])

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "error")

    def format(self) -> str:
        return "\n".join(d.format(self.sources) for d in self.diagnostics)


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """' — did you mean 'x'?' for the closest candidate (typos and swapped letters), or ''."""
    pool = sorted(set(candidates))
    close = difflib.get_close_matches(word, pool, n=5, cutoff=0.6)
    if not close:
        return ""
    best = min(
        close,
        key=lambda c: (edit_distance(word, c), -difflib.SequenceMatcher(None, word, c).ratio()),
    )
    return f" — did you mean '{best}'?"


def edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: a swap of two neighbours counts as one typo."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(
                d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])
            )
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]
