"""Parse: .gen text → AST (`gencode.ast.Program`), with friendly, recoverable syntax errors.

The grammar lives in grammar/gen.lark (shipped inside the wheel as gencode/grammar/gen.lark).
On a syntax error the offending statement is blanked out and parsing resumes, so one run
reports every syntax error of a script.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedEOF, UnexpectedInput

from gencode import ast
from gencode.errors import Diagnostic, GenError
from gencode.limits import MAX_NESTING
from gencode.source import Span
from gencode.syntax_errors import (
    CLOSE,
    OPEN,
    blank_statement,
    describe,
    error_offset,
    statement_bounds,
    token_span,
)

MAX_SYNTAX_ERRORS = 20


def grammar_path() -> Path:
    """The installed grammar, or the repository's when running from a source checkout."""
    packaged = Path(__file__).parent / "grammar" / "gen.lark"
    return packaged if packaged.exists() else Path(__file__).parent.parent / "grammar" / "gen.lark"


class BracketNewlines:
    """Post-lexer: drops newlines inside brackets and remembers tokens for error messages."""

    always_accept = ("_NL",)

    def __init__(self) -> None:
        self.stack: list[Token] = []
        self.seen: list[Token] = []

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        self.stack, self.seen = [], []
        for tok in stream:
            if tok.type in OPEN:
                self.stack.append(tok)
            elif tok.type in CLOSE and self.stack and self.stack[-1].type == CLOSE[tok.type]:
                self.stack.pop()
            if tok.type == "_NL" and self.stack:
                continue
            self.seen.append(tok)
            yield tok


@functools.lru_cache(maxsize=1)
def _parser() -> tuple[Lark, BracketNewlines]:
    post = BracketNewlines()
    lark = Lark(
        grammar_path().read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        postlex=post,
        maybe_placeholders=False,
        cache=True,
    )
    return lark, post


def parse(text: str, filename: str = "<script>") -> ast.Program:
    """Parse a whole script; raise GenError with every syntax error found."""
    lark, post = _parser()
    diagnostics: list[Diagnostic] = []
    current = text
    for _ in range(MAX_SYNTAX_ERRORS):
        try:
            tree = lark.parse(current)
        except UnexpectedInput as e:
            diagnostics.append(Diagnostic("error", *describe(e, post, current, filename)))
            blanked = blank_statement(current, error_offset(e, current))
            if blanked == current:
                break
            current = blanked
            continue
        if diagnostics:
            break
        too_deep = _too_deep(tree, filename)
        if too_deep is not None:
            diagnostics.append(too_deep)
            break
        return ToAST(filename).transform(tree)
    raise GenError(diagnostics, {filename: text})


def _too_deep(tree: Tree, filename: str) -> Diagnostic | None:
    """An error at the first expression nested deeper than MAX_NESTING, found without recursion
    (every later stage walks expressions recursively, so depth is bounded here, once)."""
    stack: list[tuple[Tree, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            meta = node.meta
            span = Span(filename, meta.line, meta.column, meta.end_line, meta.end_column)
            why = f"this expression is nested more than {MAX_NESTING} levels deep"
            return Diagnostic("error", f"{why} (brackets, calls or a chain of + and -)", span)
        stack.extend((c, depth + 1) for c in node.children if isinstance(c, Tree))
    return None


# ---- parse tree → AST ------------------------------------------------------------------------


@v_args(meta=True)
class ToAST(Transformer):
    """Builds `gencode.ast` nodes; every node gets the span of its text."""

    def __init__(self, filename: str):
        super().__init__()
        self.filename = filename

    def _span(self, meta) -> Span:
        if getattr(meta, "empty", True):
            return Span(self.filename, 0, 0, 0, 0)
        return Span(self.filename, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tspan(self, tok: Token) -> Span:
        return token_span(tok, self.filename)

    def start(self, meta, children):
        return ast.Program(tuple(children), span=self._span(meta))

    def setting(self, meta, children):
        name, value = children
        return ast.Setting(str(name), value, span=self._span(meta))

    def assign(self, meta, children):
        *_, name, value = children  # an optional LET token comes first
        return ast.Assign(ast.Name(str(name), span=self._tspan(name)), value, span=self._span(meta))

    def param(self, meta, children):
        name, default = children
        return ast.Param(
            ast.Name(str(name), span=self._tspan(name)), default, span=self._span(meta)
        )

    def include(self, meta, children):
        return ast.Include(self.string(meta, children), span=self._span(meta))

    def output(self, meta, children):
        value, *alias = children
        name = ast.Name(str(alias[0]), span=self._tspan(alias[0])) if alias else None
        return ast.Output(value, name, span=self._span(meta))

    def binop(self, meta, children):
        left, op, right = children
        return ast.BinOp(str(op), left, right, span=self._span(meta))

    def neg(self, meta, children):
        return ast.Neg(children[-1], span=self._span(meta))

    def call(self, meta, children):
        head, *words = children
        name = ast.Name(str(head), span=self._tspan(head))
        return ast.Call(name, tuple(words), span=self._span(meta))

    def number(self, meta, children):
        text = str(children[0])
        # An integer literal stays an int: seeds up to 2^63 - 1 keep every digit.
        exact = text.lstrip("-").isdigit() and len(text) <= 40  # longer: a float (inf, refused)
        value = int(text) if exact else float(text)
        return ast.Number(value, span=self._span(meta))

    def string(self, meta, children):
        return ast.String(unescape(str(children[0])[1:-1]), span=self._span(meta))

    def size(self, meta, children):
        w, h = str(children[0]).split("x")
        return ast.Size(int(w), int(h), span=self._span(meta))

    def name(self, meta, children):
        return ast.Name(str(children[0]), span=self._span(meta))

    def beats(self, meta, children):
        return ast.Beats(float(str(children[0])[:-1]), span=self._span(meta))

    def tuple(self, meta, children):
        return ast.Tuple(tuple(children), span=self._span(meta))

    def range(self, meta, children):
        return ast.Range(float(children[0]), float(children[1]), span=self._span(meta))

    def list(self, meta, children):
        return ast.List(tuple(c for c in children if c is not None), span=self._span(meta))

    def schedule(self, meta, children):
        return ast.Schedule(tuple(c for c in children if c is not None), span=self._span(meta))

    def keyframe(self, meta, children):
        return ast.Keyframe(children[0], children[1], span=self._span(meta))


_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r", "0": "\0"}


def unescape(body: str) -> str:
    """The value of a string literal's body: \\n \\t \\" \\\\ and \\u{hex}; unknown escapes stay."""
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            if nxt == "u" and body[i + 2 : i + 3] == "{" and "}" in body[i + 3 :]:
                close = body.index("}", i + 3)
                try:
                    out.append(chr(int(body[i + 3 : close], 16)))
                    i = close + 1
                    continue
                except ValueError:
                    pass
        out.append(c)
        i += 1
    return "".join(out)


def escape(value: str) -> str:
    """A string literal (with quotes) whose value is `value`: the inverse of `unescape`."""
    rev = {v: k for k, v in _ESCAPES.items()}
    body = "".join("\\" + rev[c] if c in rev else c for c in value)
    return f'"{body}"'


__all__ = ["parse", "grammar_path", "statement_bounds", "escape", "unescape", "UnexpectedEOF"]
