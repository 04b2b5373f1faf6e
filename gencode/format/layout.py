"""Statements → canonical lines, keeping comments and the blank lines that group statements.

Input: a parsed `ast.Program`, its source text and comments by line. Output: formatted text.
Statements written on one line (`seed 42; diffuse "dunes"`) stay on one line; runs of blank
lines become one; a statement holding a comment fmt can't place is kept as written.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from gencode import ast
from gencode.format.exprs import ExprPrinter


class Layout:
    def __init__(self, text: str, comments: dict[int, str]):
        self.lines = text.split("\n")
        self.comments = dict(comments)
        self.exprs = ExprPrinter(self.comments, self.source)
        self.out: list[str] = []
        self.last = 0  # the last source line written out

    def program(self, program: ast.Program, verbatim: Collection[int] = ()) -> str:
        """The formatted text; statements whose index is in `verbatim` are copied as written."""
        for group in _groups(program.statements):
            first = group[0][1].span.line
            self._comments_before(first)
            texts = [self._stmt_or_verbatim(s, i in verbatim) for i, s in group]
            end = group[-1][1].span.end_line
            trailing = self.comments.pop(end, None)
            self._emit("; ".join(texts) + (f"  {trailing}" if trailing else ""), first, end)
        self._comments_before(len(self.lines) + 1)
        return "\n".join(self.out) + "\n" if self.out else ""

    def _comments_before(self, line: int) -> None:
        for n in sorted(k for k in self.comments if k < line):
            self._emit(self.comments.pop(n), n, n)

    def _emit(self, text: str, first: int, end: int) -> None:
        gap = self.lines[self.last : first - 1]
        if self.out and any(not g.strip() for g in gap):
            self.out.append("")
        self.out.append(text)
        self.last = end

    def _stmt_or_verbatim(self, s: ast.Stmt, verbatim: bool) -> str:
        inside = [n for n in self.comments if s.span.line <= n < s.span.end_line]
        if not verbatim:
            saved = dict(self.comments)
            try:
                text = self.statement(s)
                if not any(n in self.comments for n in inside):
                    return text
            except Exception:  # noqa: BLE001 — a node this printer does not know: keep it as written
                pass
            self.comments.clear()
            self.comments.update(saved)
        for n in inside:
            self.comments.pop(n)
        return self.source(s)

    def statement(self, s: ast.Stmt) -> str:
        e = self.exprs.expr
        if isinstance(s, ast.Setting):
            return f"{s.name} {e(s.value)}"
        if isinstance(s, ast.Assign):
            let = "let " if re.match(r"let\s", self.source(s)) else ""
            return f"{let}{s.name.id} = {e(s.value)}"
        if isinstance(s, ast.Param):
            return f"param {s.name.id} = {e(s.default)}"
        if isinstance(s, ast.Include):
            return f"include {self.exprs.string(s.path)}"
        if isinstance(s, ast.Output):
            return e(s.value) + (f" as {s.alias.id}" if s.alias else "")
        raise TypeError(f"no printer for {type(s).__name__}")

    def source(self, s: ast.Node) -> str:
        """The text of a node as written."""
        sp = s.span
        if sp.line == sp.end_line:
            return self.lines[sp.line - 1][sp.column - 1 : sp.end_column - 1]
        body = [self.lines[sp.line - 1][sp.column - 1 :]]
        body += self.lines[sp.line : sp.end_line - 1]
        return "\n".join([*body, self.lines[sp.end_line - 1][: sp.end_column - 1]])


def _groups(statements: tuple[ast.Stmt, ...]) -> list[list[tuple[int, ast.Stmt]]]:
    """Statements by the line they share: one that starts where the previous ended joins it."""
    groups: list[list[tuple[int, ast.Stmt]]] = []
    for i, s in enumerate(statements):
        if groups and s.span.line == groups[-1][-1][1].span.end_line:
            groups[-1].append((i, s))
        else:
            groups.append([(i, s)])
    return groups
