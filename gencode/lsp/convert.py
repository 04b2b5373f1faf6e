"""Positions between gencode and LSP: spans (lines and columns from 1, in characters) ↔ LSP
ranges (from 0, in the client's code units: UTF-16 unless the client chose UTF-32 or UTF-8).

Input: a document's text and the negotiated encoding. Output: lsprotocol Positions and Ranges.
"""

from __future__ import annotations

import bisect

from lsprotocol import types as lsp

from gencode.source import Span

_WIDTH = {"utf-8": 1, "utf-16": 2, "utf-32": 4}


class Lines:
    """A document's lines, converting between character columns and client code units."""

    def __init__(self, text: str, encoding: str = "utf-16"):
        self.text = text
        self.lines = text.split("\n")
        self.starts = [0]
        for line in self.lines[:-1]:
            self.starts.append(self.starts[-1] + len(line) + 1)
        self.encoding = encoding if encoding in _WIDTH else "utf-16"

    def _units(self, s: str) -> int:
        if s.isascii() or self.encoding == "utf-32":
            return len(s)
        if self.encoding == "utf-8":
            return len(s.encode("utf-8"))
        return len(s.encode("utf-16-le")) // 2

    def position(self, line: int, column: int) -> lsp.Position:
        """An LSP position for a 1-based line and character column."""
        row = min(max(line - 1, 0), len(self.lines) - 1)
        text = self.lines[row]
        return lsp.Position(row, self._units(text[: max(column - 1, 0)]))

    def range(self, span: Span | None) -> lsp.Range:
        if span is None or span.line == 0:
            return lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0))
        return lsp.Range(
            self.position(span.line, span.column), self.position(span.end_line, span.end_column)
        )

    def offset(self, pos: lsp.Position) -> int:
        """The character offset of an LSP position."""
        row = min(pos.line, len(self.lines) - 1)
        text, column = self.lines[row], pos.character
        if not text.isascii() and self.encoding != "utf-32":
            column, used = 0, 0
            while column < len(text) and used < pos.character:
                used += self._units(text[column])
                column += 1
        return self.starts[row] + min(column, len(text))

    def stretch(self, first: int, last: int) -> tuple[int, int]:
        """Offsets from the start of line `first` to the end of line `last` (lines from 1)."""
        first, last = max(first, 1), min(last, len(self.lines))
        return self.starts[first - 1], self.starts[last - 1] + len(self.lines[last - 1])

    def at_offset(self, offset: int) -> lsp.Position:
        row = bisect.bisect_right(self.starts, offset) - 1
        return self.position(row + 1, offset - self.starts[row] + 1)

    def span_range(self, start: int, end: int) -> lsp.Range:
        return lsp.Range(self.at_offset(start), self.at_offset(end))
