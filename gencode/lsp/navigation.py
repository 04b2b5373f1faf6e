"""Names: where each binding, param and output is defined; go to definition; document symbols.

Input: an `Analysis` (its AST) and a cursor. Output: lsprotocol Locations and DocumentSymbols.
"""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types as lsp

from gencode import ast
from gencode.lsp.analysis import Analysis
from gencode.lsp.context import around, context_under
from gencode.lsp.convert import Lines
from gencode.parse import unescape


def defined_names(program: ast.Program) -> list[tuple[ast.Name, ast.Stmt]]:
    """Every name the script defines, with the statement that defines it, in order."""
    out: list[tuple[ast.Name, ast.Stmt]] = []
    for s in program.statements:
        if isinstance(s, ast.Assign | ast.Param):
            out.append((s.name, s))
        elif isinstance(s, ast.Output) and s.alias is not None:
            out.append((s.alias, s))
    return out


def names_before(program: ast.Program, line: int) -> dict[str, ast.Stmt]:
    """The names defined on lines before `line`, each with its latest definition."""
    return {n.id: s for n, s in defined_names(program) if n.span.line < line}


def definition_of(an: Analysis, word: str, line: int) -> ast.Name | None:
    """The definition of `word` in force at `line` (the latest before it, else the first)."""
    found = [n for n, _ in defined_names(an.program) if n.id == word]
    before = [n for n in found if n.span.line <= line]
    return before[-1] if before else (found[0] if found else None)


def definition(an: Analysis, lines: Lines, pos: lsp.Position, uri: str, root: Path):
    offset = lines.offset(pos)
    ctx = context_under(an.text, offset, around(an, lines, pos.line))
    if ctx.string is not None and ctx.head == "include":
        target = (root / unescape(ctx.string.text.strip('"'))).resolve()
        if target.is_file():
            start = lsp.Position(0, 0)
            return lsp.Location(target.as_uri(), lsp.Range(start, start))
        return None
    name = definition_of(an, ctx.word, pos.line + 1) if ctx.word else None
    return lsp.Location(uri, lines.range(name.span)) if name else None


def symbols(an: Analysis, lines: Lines) -> list[lsp.DocumentSymbol]:
    """Bindings, params, outputs and includes, for the outline and breadcrumbs."""
    out = []
    for s in an.program.statements:
        found = _symbol(s)
        if found is None:
            continue
        name, kind, detail, at = found
        out.append(
            lsp.DocumentSymbol(
                name=name,
                kind=kind,
                range=lines.range(s.span),
                selection_range=lines.range(at.span),
                detail=detail,
            )
        )
    return out


def _symbol(s: ast.Stmt) -> tuple[str, lsp.SymbolKind, str, ast.Node] | None:
    if isinstance(s, ast.Assign):
        return s.name.id, lsp.SymbolKind.Variable, _what(s.value), s.name
    if isinstance(s, ast.Param):
        return s.name.id, lsp.SymbolKind.Constant, "param", s.name
    if isinstance(s, ast.Include):
        return s.path.value, lsp.SymbolKind.File, "include", s.path
    if isinstance(s, ast.Output):
        if s.alias is not None:
            return s.alias.id, lsp.SymbolKind.Event, "output: " + _what(s.value), s.alias
        if isinstance(s.value, ast.Call) and s.value.name.id == "save":
            path = next((w.value for w in s.value.words if isinstance(w, ast.String)), "save")
            return path, lsp.SymbolKind.Event, "save", s.value
        return f"output (line {s.span.line})", lsp.SymbolKind.Event, _what(s.value), s.value
    return None


def _what(e: ast.Expr) -> str:
    return e.name.id if isinstance(e, ast.Call) else type(e).__name__.lower()
