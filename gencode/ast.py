"""The AST: frozen dataclasses built from the parse tree; spans never take part in equality.

Input: nothing (definitions only). Output: the node types `parse` builds and `check` reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gencode.source import NOSPAN, Span


@dataclass(frozen=True)
class Node:
    span: Span = field(default=NOSPAN, compare=False, repr=False, kw_only=True)


# ---- expressions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Number(Node):
    value: float | int  # int for a literal without '.' or exponent, so seeds stay exact


@dataclass(frozen=True)
class String(Node):
    value: str


@dataclass(frozen=True)
class Size(Node):
    width: int
    height: int


@dataclass(frozen=True)
class Name(Node):
    id: str


@dataclass(frozen=True)
class Beats(Node):
    """A time in beats (`8b`), turned into frames with the `bpm` and `fps` in force."""

    value: float


@dataclass(frozen=True)
class Tuple(Node):
    """`(a, b)`: the arguments of a math function like `max(a, b)`."""

    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Range(Node):
    start: float
    stop: float


@dataclass(frozen=True)
class List(Node):
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Keyframe(Node):
    at: Expr
    value: Expr


@dataclass(frozen=True)
class Schedule(Node):
    keyframes: tuple[Keyframe, ...]


@dataclass(frozen=True)
class BinOp(Node):
    op: str  # one of + - * /
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Neg(Node):
    operand: Expr


@dataclass(frozen=True)
class Call(Node):
    """`name word word ...`: the words are grouped into arguments by the checker."""

    name: Name
    words: tuple[Expr, ...]


Expr = Number | String | Size | Name | Beats | Tuple | Range | List | Schedule | BinOp | Neg | Call


# ---- statements ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting(Node):
    name: str
    value: Expr


@dataclass(frozen=True)
class Assign(Node):
    name: Name
    value: Expr


@dataclass(frozen=True)
class Param(Node):
    name: Name
    default: Expr


@dataclass(frozen=True)
class Include(Node):
    path: String


@dataclass(frozen=True)
class Output(Node):
    value: Expr
    alias: Name | None = None


Stmt = Setting | Assign | Param | Include | Output


@dataclass(frozen=True)
class Program(Node):
    statements: tuple[Stmt, ...]
