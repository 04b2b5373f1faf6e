"""Number literals: a parsed script and a (line, column) → the same script with that one number
changed, and its text with the new literal spliced in — without parsing again.

This is the sliders' fast path: while a number is dragged in the editor, each new value rebinds
one `ast.Number` of the tree already parsed, and only check and compile run. Torch-free, so the
watch session and the live engine (`engine.set_number(line, col, value)`) can both use it.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from gencode import ast
from gencode.source import Span

LITERAL = re.compile(r"-?(\d+\.\d+|\d+|\.\d+)([eE][+-]?\d+)?")


class NotANumber(ValueError):
    """No number literal of the script starts at the given line and column."""


def find_number(program: ast.Program, file: str, line: int, col: int) -> ast.Number:
    """The number literal of `file` whose text starts at line:col (1-based, as spans count)."""
    for node in _walk(program):
        if isinstance(node, ast.Number) and _starts(node.span, file, line, col):
            return node
    raise NotANumber(f"{file}:{line}:{col}: no number starts here")


def rebind(program: ast.Program, file: str, line: int, col: int, value: float) -> ast.Program:
    """The program with the number at line:col replaced by `value` (other nodes shared)."""
    target = find_number(program, file, line, col)
    new = ast.Number(float(value), span=target.span)
    out = _replace(program, target, new)
    assert isinstance(out, ast.Program)
    return out


def splice(text: str, span: Span, literal: str) -> tuple[str, Span]:
    """`text` with the literal at `span` replaced by `literal`, and the literal's new span."""
    if not LITERAL.fullmatch(literal):
        raise NotANumber(f"'{literal}' is not a number")
    lines = text.split("\n")
    row = lines[span.line - 1]
    start, end = span.column - 1, span.end_column - 1
    lines[span.line - 1] = row[:start] + literal + row[end:]
    moved = dataclasses.replace(span, end_line=span.line, end_column=span.column + len(literal))
    return "\n".join(lines), moved


def _starts(span: Span, file: str, line: int, col: int) -> bool:
    return span.file == file and span.line == line and span.column == col


def _walk(node: Any):
    if isinstance(node, ast.Node):
        yield node
        for f in dataclasses.fields(node):
            yield from _walk(getattr(node, f.name))
    elif isinstance(node, tuple):
        for item in node:
            yield from _walk(item)


def _replace(node: Any, target: ast.Number, new: ast.Number) -> Any:
    """`node` with `target` (by identity) swapped for `new`; untouched subtrees are shared."""
    if node is target:
        return new
    if isinstance(node, tuple):
        items = tuple(_replace(x, target, new) for x in node)
        return node if all(a is b for a, b in zip(items, node, strict=True)) else items
    if not isinstance(node, ast.Node):
        return node
    changes = {}
    for f in dataclasses.fields(node):
        if f.name == "span":
            continue
        old = getattr(node, f.name)
        value = _replace(old, target, new)
        if value is not old:
            changes[f.name] = value
    return dataclasses.replace(node, **changes) if changes else node
