"""Unparse: AST → .gen source that parses back to an equal AST (used by fuzzing and tools)."""

from __future__ import annotations

from gencode import ast
from gencode.parse import escape

_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


def unparse(program: ast.Program) -> str:
    return "".join(statement(s) + "\n" for s in program.statements)


def statement(s: ast.Stmt) -> str:
    if isinstance(s, ast.Setting):
        return f"{s.name} {expr(s.value)}"
    if isinstance(s, ast.Assign):
        return f"{s.name.id} = {expr(s.value)}"
    if isinstance(s, ast.Param):
        return f"param {s.name.id} = {expr(s.default)}"
    if isinstance(s, ast.Include):
        return f"include {escape(s.path.value)}"
    alias = f" as {s.alias.id}" if s.alias else ""
    return expr(s.value) + alias


def expr(e: ast.Expr, level: int = 0) -> str:
    """Source for `e`, parenthesised where the surrounding precedence `level` needs it."""
    if isinstance(e, ast.BinOp):
        p = _PRECEDENCE[e.op]
        text = f"{expr(e.left, p)} {e.op} {expr(e.right, p + 1)}"
        return f"({text})" if p < level else text
    if isinstance(e, ast.Neg):
        return f"-({expr(e.operand)})"
    if isinstance(e, ast.Call):
        text = " ".join([e.name.id] + [word(w) for w in e.words])
        return f"({text})" if level > 0 else text
    if isinstance(e, ast.Number) and e.value < 0:
        return f"({number(e.value)})"
    return word(e)


def word(e: ast.Expr) -> str:
    """Source for a call's word: atoms as they are, anything else in parentheses."""
    if isinstance(e, ast.Number):
        return number(e.value)
    if isinstance(e, ast.String):
        return escape(e.value)
    if isinstance(e, ast.Size):
        return f"{e.width}x{e.height}"
    if isinstance(e, ast.Name):
        return e.id
    if isinstance(e, ast.Beats):
        return f"{number(e.value)}b"
    if isinstance(e, ast.Tuple):
        return "(" + ", ".join(expr(x) for x in e.items) + ")"
    if isinstance(e, ast.Range):
        return f"{number(e.start)}..{number(e.stop)}"
    if isinstance(e, ast.List):
        return "[" + ", ".join(expr(x) for x in e.items) + "]"
    if isinstance(e, ast.Schedule):
        return "{" + ", ".join(f"{expr(k.at)}: {expr(k.value)}" for k in e.keyframes) + "}"
    return f"({expr(e)})"


def number(x: float) -> str:
    if isinstance(x, int):
        return str(x)  # a seed keeps all its digits
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)
