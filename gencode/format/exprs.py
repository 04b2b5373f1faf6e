"""Expressions → canonical source, with the comments that sit inside multi-line brackets.

Input: AST expressions and the script's comments by line. Output: text that parses back to an
equal expression. A list, schedule or tuple written over several lines stays one item per line
(with a trailing comma); one written on one line stays on one line.
"""

from __future__ import annotations

from collections.abc import Callable

from gencode import ast
from gencode.ops.table import SIGNATURES
from gencode.parse import escape, unescape

INDENT = "  "
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}
_BRACKETS = (ast.List, ast.Schedule, ast.Tuple)


class ExprPrinter:
    """Prints expressions; takes (pops) the comments it places from `comments`."""

    def __init__(self, comments: dict[int, str], source: Callable[[ast.Node], str] | None = None):
        self.comments = comments
        self.source = source  # a node's text as written, to keep numbers spelled as they were

    def expr(self, e: ast.Expr, level: int = 0, depth: int = 0) -> str:
        """Source for `e`, parenthesised where the surrounding precedence `level` needs it."""
        if isinstance(e, ast.BinOp):
            p = _PRECEDENCE[e.op]
            left = self.expr(e.left, p, depth)
            text = f"{left} {e.op} {self.expr(e.right, p + 1, depth)}"
            return f"({text})" if p < level else text
        if isinstance(e, ast.Neg):
            # `-2` would read back as a negative number, `-noise seed 7` is hard to read.
            bare = isinstance(e.operand, ast.Name | ast.Neg | ast.String | ast.Tuple) or (
                isinstance(e.operand, ast.List | ast.Schedule)
            )
            inner = self.expr(e.operand, 0, depth)
            return f"-{inner}" if bare else f"-({inner})"
        if isinstance(e, ast.Call):
            text = self.call(e, depth)
            return f"({text})" if level > 0 and not _function(e) else text
        return self.word(e, depth)

    def call(self, e: ast.Call, depth: int) -> str:
        if _function(e):  # `sin(beat * pi)`, `max(a, b)`
            (arg,) = e.words
            inner = (
                self.word(arg, depth) if isinstance(arg, ast.Tuple) else self.expr(arg, 0, depth)
            )
            return f"{e.name.id}({inner})" if not isinstance(arg, ast.Tuple) else e.name.id + inner
        return " ".join([e.name.id, *(self.word(w, depth) for w in e.words)])

    def word(self, e: ast.Expr, depth: int = 0) -> str:
        """Source for a call's word: atoms as they are, anything else in parentheses."""
        if isinstance(e, ast.Number):
            return self.number(e)
        if isinstance(e, ast.String):
            return self.string(e)
        if isinstance(e, ast.Size):
            return f"{e.width}x{e.height}"
        if isinstance(e, ast.Name):
            return e.id
        if isinstance(e, ast.Beats):
            return f"{number(e.value)}b"
        if isinstance(e, ast.Range):
            return f"{number(e.start)}..{number(e.stop)}"
        if isinstance(e, ast.Tuple):
            return self.bracket("(", ")", e, e.items, depth)
        if isinstance(e, ast.List):
            return self.bracket("[", "]", e, e.items, depth)
        if isinstance(e, ast.Schedule):
            return self.bracket("{", "}", e, e.keyframes, depth)
        if isinstance(e, ast.BinOp | ast.Neg | ast.Call):
            return f"({self.expr(e, 0, depth)})"
        raise TypeError(f"no printer for {type(e).__name__}")

    def number(self, e: ast.Number) -> str:
        """A number as written (`1.0`, `2e3`), or plainly when its text is not at hand."""
        written = self.source(e) if self.source and e.span.line > 0 else ""
        try:
            return written if float(written) == e.value else number(e.value)
        except ValueError:
            return number(e.value)

    def string(self, e: ast.String) -> str:
        """A string as written (its escapes kept) when that is at hand, else escaped plainly."""
        written = self.source(e) if self.source and e.span.line > 0 else ""
        ok = len(written) > 1 and written[0] == written[-1] == '"'
        return written if ok and unescape(written[1:-1]) == e.value else escape(e.value)

    def bracket(self, open_: str, close: str, e: ast.Node, items, depth: int) -> str:
        if e.span.line == e.span.end_line or not items:
            return open_ + ", ".join(self.item(x, depth) for x in items) + close
        pad = INDENT * (depth + 1)
        lines = [open_]
        for i, x in enumerate(items):
            lines += [pad + c for c in self._take(e.span.line, x.span.line)]
            text = f"{pad}{self.item(x, depth + 1)},"
            same_line_next = i + 1 < len(items) and items[i + 1].span.line == x.span.end_line
            trailing = None if same_line_next else self.comments.pop(x.span.end_line, None)
            lines.append(f"{text}  {trailing}" if trailing else text)
        lines += [pad + c for c in self._take(items[-1].span.end_line + 1, e.span.end_line)]
        lines.append(INDENT * depth + close)
        return "\n".join(lines)

    def item(self, x: ast.Expr | ast.Keyframe, depth: int) -> str:
        if isinstance(x, ast.Keyframe):
            return f"{self.expr(x.at, 0, depth)}: {self.expr(x.value, 0, depth)}"
        return self.expr(x, 0, depth)

    def _take(self, first: int, stop: int) -> list[str]:
        """The comments on lines first..stop-1, removed from the pool."""
        return [self.comments.pop(n) for n in sorted(self.comments) if first <= n < stop]


def _function(e: ast.Expr) -> bool:
    """A math function applied to one argument (ops are written as words: `noise seed 7`)."""
    return isinstance(e, ast.Call) and e.name.id not in SIGNATURES and len(e.words) == 1


def number(x: float | int) -> str:
    if isinstance(x, int):
        return str(x)
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)
