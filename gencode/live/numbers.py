"""Numbers: a slider's fast path — the running program and one number literal's new value → the
same program with that literal rebound, with no parse of the file and no check.

Input: a `Program` and a literal of its main file at (line, column). Output: a copy of the program
whose frame expressions read the new value where they read the literal (the checker marks each
such `num` leaf with the literal's span), or None when the literal also reaches anything decided
at check time — a binding (`k = 0.2` may be used anywhere), a plain setting, a size, a frame
count — which then goes the safe way: a check of the tree with the new value.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from typing import Any

from gencode import ast
from gencode.check.frame_expr import FrameExpr, Tree
from gencode.errors import GenError
from gencode.graph import Node
from gencode.ir import Sched
from gencode.literals import NotANumber, find_number
from gencode.live.program import Program
from gencode.parse import parse

Where = tuple[
    str, int, int, int, int
]  # the literal's span: file, line, column, end line, end column


def rebind(program: Program, line: int, column: int, value: float) -> Program | None:
    """`program` reading `value` for the literal at line:column, or None (see the module)."""
    where = _literal(program, line, column)
    if where is None:
        return None
    memo: dict[int, Node] = {}
    found = [0]
    outputs = [
        dataclasses.replace(o, value=_value(o.value, where, value, memo, found))
        for o in program.checked.outputs
    ]
    if not found[0]:
        return None  # folded into a constant, or decided at check time
    checked = dataclasses.replace(program.checked, outputs=outputs)
    numbers = {**program.numbers, (line, column): float(value)}
    return dataclasses.replace(program, checked=checked, numbers=numbers)


def _literal(program: Program, line: int, column: int) -> Where | None:
    """The span of the number literal at line:column, unless a binding or param holds it."""
    file = str(program.path)
    text = program.checked.sources.get(file)
    if text is None:
        return None
    try:
        tree = _parsed(text, file)
        number = find_number(tree, file, line, column)
    except (GenError, NotANumber):
        return None
    for stmt in tree.statements:
        if isinstance(stmt, ast.Assign | ast.Param):
            try:
                find_number(ast.Program((stmt,)), file, line, column)
                return None
            except NotANumber:
                pass
    s = number.span
    return (s.file, s.line, s.column, s.end_line, s.end_column)


@lru_cache(maxsize=4)
def _parsed(text: str, file: str) -> ast.Program:
    """The main file's tree, parsed once per version: every step of a drag looks it up."""
    return parse(text, file)


def _value(v: Node, where: Where, x: float, memo: dict[int, Node], found: list[int]) -> Node:
    """`v` with every `num` leaf at `where` reading x (untouched values are shared)."""
    if id(v) in memo:
        return memo[id(v)]
    inputs = tuple(_value(i, where, x, memo, found) for i in v.inputs)
    params = {k: _param(p, where, x, found) for k, p in v.params.items()}
    same = all(a is b for a, b in zip(inputs, v.inputs, strict=True)) and all(
        params[k] is v.params[k] for k in params
    )
    out = v if same else dataclasses.replace(v, inputs=inputs, params=params)
    memo[id(v)] = out
    return out


def _param(p: Any, where: Where, x: float, found: list[int]) -> Any:
    if isinstance(p, FrameExpr):
        tree = _tree(p.tree, where, x, found)
        return p if tree is p.tree else dataclasses.replace(p, tree=tree)
    if isinstance(p, Sched):
        keys = tuple((f, _param(v, where, x, found)) for f, v in p.keyframes)
        same = all(a[1] is b[1] for a, b in zip(keys, p.keyframes, strict=True))
        return p if same else dataclasses.replace(p, keyframes=keys)
    if isinstance(p, tuple | list):
        items = [_param(i, where, x, found) for i in p]
        return p if all(a is b for a, b in zip(items, p, strict=True)) else type(p)(items)
    if isinstance(p, dict):
        mapped = {k: _param(i, where, x, found) for k, i in p.items()}
        return p if all(mapped[k] is p[k] for k in p) else mapped
    return p


def _tree(tree: Tree, where: Where, x: float, found: list[int]) -> Tree:
    kind = tree[0]
    if kind == "num":
        if len(tree) > 2 and tree[2] == where:
            found[0] += 1
            return ("num", float(x), where)
        return tree
    if kind == "bin":
        left, right = _tree(tree[2], where, x, found), _tree(tree[3], where, x, found)
        return tree if left is tree[2] and right is tree[3] else ("bin", tree[1], left, right)
    if kind == "fn":
        args = tuple(_tree(a, where, x, found) for a in tree[2])
        return (
            tree
            if all(a is b for a, b in zip(args, tree[2], strict=True))
            else ("fn", tree[1], args)
        )
    return tree
