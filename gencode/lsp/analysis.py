"""Analysis of one open document: text → AST (statement by statement, cached), diagnostics, names.

Input: a document's text, file name and folder. Output: `Analysis`. Unchanged statements are not
parsed again: each top-level statement's text is parsed once and its spans moved to where it
sits now, so an edit re-parses one statement; the checker then runs over the whole program. A
statement with a syntax error is left out of the program (its error is reported), so names and
symbols still work while one line is broken.
"""

from __future__ import annotations

import bisect
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from gencode import ast
from gencode.check.program import check
from gencode.check.state import State
from gencode.errors import Diagnostic, GenError
from gencode.models.catalog import ModelCatalog
from gencode.parse import parse, statement_bounds
from gencode.source import Span

CACHE_LIMIT = 20_000  # statements kept parsed, over every open document
Parsed = tuple[tuple[ast.Stmt, ...], tuple[Diagnostic, ...]]


@dataclass
class Analysis:
    text: str
    filename: str
    program: ast.Program  # the statements that parse
    diagnostics: list[Diagnostic] = field(default_factory=list)  # this file's and its includes'


class Parser:
    """Parses statement by statement, remembering each statement's text."""

    def __init__(self) -> None:
        self.cache: dict[str, Parsed] = {}
        self.placed: dict[tuple[str, str, int, int], Parsed] = {}  # by text, file, line, column

    def parse(self, text: str, filename: str) -> tuple[ast.Program, list[Diagnostic]]:
        starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
        statements: list[ast.Stmt] = []
        errors: list[Diagnostic] = []
        for start, end in _chunks(text):
            line = bisect.bisect_right(starts, start)
            column = start - starts[line - 1] + 1
            stmts, diags = self._place(text[start:end], filename, line, column)
            statements += stmts
            errors += diags
        return ast.Program(tuple(statements)), errors

    def _place(self, chunk: str, filename: str, line: int, column: int) -> Parsed:
        key = (chunk, filename, line, column)
        if key not in self.placed:
            if len(self.placed) > CACHE_LIMIT:
                self.placed.clear()
            stmts, diags = self._parse_chunk(chunk)
            self.placed[key] = (
                tuple(_moved(s, filename, line, column) for s in stmts),
                tuple(
                    dataclasses.replace(d, span=d.span and _shift(d.span, filename, line, column))
                    for d in diags
                ),
            )
        return self.placed[key]

    def _parse_chunk(self, chunk: str) -> Parsed:
        if chunk not in self.cache:
            if len(self.cache) > CACHE_LIMIT:
                self.cache.clear()
            try:
                self.cache[chunk] = (parse(chunk + "\n", "").statements, ())
            except GenError as e:
                self.cache[chunk] = ((), e.diagnostics)
        return self.cache[chunk]


def _chunks(text: str) -> list[tuple[int, int]]:
    """Top-level statements' bounds, joined across line continuations (`\\` at a line's end)."""
    out: list[tuple[int, int]] = []
    for start, end in statement_bounds(text):
        if out and text[out[-1][0] : out[-1][1]].rstrip(" \t\r").endswith("\\"):
            out[-1] = (out[-1][0], end)
        elif text[start:end].strip():
            out.append((start, end))
    return out


def _shift(span: Span, filename: str, line: int, column: int) -> Span:
    """A span parsed from a statement alone, moved to the statement's place in the file."""
    if span.line == 0:
        return span
    col = column - 1 if span.line == 1 else 0
    end_col = column - 1 if span.end_line == 1 else 0
    return Span(
        filename,
        span.line + line - 1,
        span.column + col,
        span.end_line + line - 1,
        span.end_column + end_col,
    )


def _moved(node, filename: str, line: int, column: int):
    """A copy of an AST node (and its children) with every span moved."""
    if isinstance(node, tuple):
        return tuple(_moved(n, filename, line, column) for n in node)
    if not isinstance(node, ast.Node):
        return node
    # The nodes are frozen dataclasses: fill a fresh instance's fields directly (fast; the
    # same fields, so equality and hashing are those of a node built by the parser).
    new = object.__new__(type(node))
    fields = new.__dict__
    for key, value in node.__dict__.items():
        fields[key] = _moved(value, filename, line, column)
    fields["span"] = _shift(node.span, filename, line, column)
    return new


def analyse(
    parser: Parser, text: str, filename: str, root: Path, catalog: ModelCatalog
) -> Analysis:
    """Parse (what changed) and check a document; every diagnostic is kept, none raised."""
    program, errors = parser.parse(text, filename)
    state = State(catalog, root.resolve())
    state.sources[filename] = text
    state.files.append(filename)
    try:
        checked = check(program, state)
        found = list(checked.notes)
    except GenError as e:
        found = list(e.diagnostics)
    except Exception as e:  # noqa: BLE001 — a checker bug must not silence the editor
        message = (
            f"gencode's checker failed on this script ({type(e).__name__}: {e}); please report it"
        )
        found = [Diagnostic("error", message, None)]
    return Analysis(text, filename, program, errors + found)


def lines_around(an: Analysis, line: int) -> tuple[int, int]:
    """The lines (first, last) of the statements on `line`, by the last analysis; `line` alone
    when no statement was there (a line being typed)."""
    first, last = line, line
    for s in an.program.statements:
        if s.span.line <= line <= s.span.end_line:
            first, last = min(first, s.span.line), max(last, s.span.end_line)
    return first, last
