"""Parse: .gen text → AST (`gencode.ast.Program`), with friendly, recoverable syntax errors.

The grammar lives in grammar/gen.lark (shipped inside the wheel as gencode/grammar/gen.lark).
On a syntax error the offending statement is blanked out and parsing resumes, so one run
reports every syntax error of a script.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import cast

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from gencode import ast
from gencode.errors import Diagnostic, GenError
from gencode.limits import MAX_NESTING
from gencode.source import Span

MAX_SYNTAX_ERRORS = 20
_OPEN = {"LPAR": "RPAR", "LSQB": "RSQB", "LBRACE": "RBRACE"}
_CLOSE = {v: k for k, v in _OPEN.items()}


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
            if tok.type in _OPEN:
                self.stack.append(tok)
            elif tok.type in _CLOSE and self.stack and self.stack[-1].type == _CLOSE[tok.type]:
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
            diagnostics.append(Diagnostic("error", *_describe(e, post, current, filename)))
            blanked = _blank_statement(current, _offset(e, current))
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


# ---- syntax errors in words ------------------------------------------------------------------

_WORDS = {
    "NUMBER": "a number",
    "SIGNED_NUMBER": "a number",
    "STRING": "a string",
    "SIZE": "a size like 64x48",
    "NAME": "a name",
    "SETTING": "a setting",
    "_NL": "a new line",
    "SEMICOLON": "';'",
    "$END": "the end of the script",
    "EQUAL": "'='",
    "COLON": "':'",
    "COMMA": "','",
    "RPAR": "')'",
    "RSQB": "']'",
    "RBRACE": "'}'",
    "LPAR": "'('",
    "LSQB": "'['",
    "LBRACE": "'{'",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "STAR": "'*'",
    "SLASH": "'/'",
    "_AS": "'as'",
    "PARAM": "'param'",
    "INCLUDE": "'include'",
    "LET": "'let'",
    "__ANON_0": "'..'",
}
_VALUE_STARTS = {"NUMBER", "STRING", "NAME", "LPAR", "LSQB", "LBRACE", "SIZE"}


def _token_text(tok: Token) -> str:
    if tok.type == "$END":
        return "the end of the script"
    if tok.type == "_NL":
        return "the end of the line"
    return f"'{tok.value}'"


def _describe(
    e: UnexpectedInput, post: BracketNewlines, text: str, filename: str
) -> tuple[str, Span]:
    """A message in words and a span for a Lark error."""
    if isinstance(e, UnexpectedCharacters):
        return _describe_chars(e, text, filename)
    tok = e.token if isinstance(e, UnexpectedToken) else Token("$END", "")
    expected = set(getattr(e, "expected", ()) or ())
    seen = [t for t in post.seen if t.start_pos != tok.start_pos or t.type != tok.type]
    prev = seen[-1] if seen else None
    if post.stack and (tok.type == "$END" or _line_col(tok)[0] > _line_col(post.stack[-1])[0]):
        opener = post.stack[-1]
        return f"this '{opener.value}' is never closed", _tok_span(opener, filename)
    span = _tok_span(tok, filename) if tok.type != "$END" else _end_span(text, filename)
    if tok.type in _CLOSE and not (expected & {tok.type}):
        return f"unmatched '{tok.value}'", span
    if tok.type == "EQUAL" and prev is not None and prev.type == "SETTING":
        return (
            f"'{prev.value}' is a setting and can't be assigned; write '{prev.value} VALUE'",
            span,
        )
    if expected & _VALUE_STARTS and not expected & {"_NL", "SEMICOLON"}:
        after = f" after '{prev.value}'" if prev is not None and prev.type != "_NL" else ""
        return f"expected a value{after}, found {_token_text(tok)}", span
    hint = _hint(tok, prev, post.stack[-1] if post.stack else None)
    if hint is not None:
        return hint, span
    if {"_NL", "SEMICOLON", "$END"} & expected or not expected:
        return (
            f"unexpected {_token_text(tok)}: expected the end of the statement (a new line or ';')",
            span,
        )
    words = sorted({_WORDS.get(t, t.lower()) for t in expected})
    return f"unexpected {_token_text(tok)}: expected {' or '.join(words)}", span


def _hint(tok: Token, prev: Token | None, opener: Token | None) -> str | None:
    """A message for a mistake people make often (another language's habit), else None."""
    if prev is None:
        return None
    if opener is not None and opener.value == "{" and tok.type in ("NUMBER", "STRING"):
        if prev.type in ("NUMBER", "STRING", "SIZE", "NAME"):
            return f"missing ',' before {_token_text(tok)}: keyframes are written {{0: 2, 24: 6}}"
    if tok.type == "NAME" and tok.value == "x" and prev.type == "NUMBER":
        return "a size is written without spaces, like 48x32"
    if tok.type == "EQUAL" and opener is not None and opener.value == "(":
        return (
            "calls take no parentheses or '=': write the op, then its arguments and keywords "
            'by name, e.g. diffuse "dunes" steps 20'
        )
    return None


def _describe_chars(e: UnexpectedCharacters, text: str, filename: str) -> tuple[str, Span]:
    pos = _char_pos(e)
    ch = text[pos] if pos < len(text) else ""
    span = Span(filename, e.line, e.column, e.line, e.column + 1)
    if ch == '"':
        line_end = text.find("\n", pos)
        end_col = e.column + ((line_end if line_end >= 0 else len(text)) - pos)
        return "unterminated string: add the closing '\"'", Span(
            filename, e.line, e.column, e.line, end_col
        )
    if ch == "'":
        return 'strings use double quotes: "like this"', span
    if ch == ".":
        return "unexpected '.': ranges are written 0..10 and numbers 0.5", span
    return f"unexpected character '{ch}'", span


def _char_pos(e: UnexpectedCharacters) -> int:
    """The offset of the bad character (Lark's base class declares `pos_in_stream` as None)."""
    return cast(int, e.pos_in_stream)


def _line_col(tok: Token) -> tuple[int, int]:
    """A lexed token's line and column (Lark types them Optional; the lexer always sets them)."""
    assert tok.line is not None and tok.column is not None, tok
    return tok.line, tok.column


def _tok_span(tok: Token, filename: str) -> Span:
    line, column = _line_col(tok)
    end_line = tok.end_line or line
    end_col = tok.end_column or (column + max(len(tok.value), 1))
    if tok.type == "_NL":
        end_line, end_col = line, column + 1
    return Span(filename, line, column, end_line, end_col)


def _end_span(text: str, filename: str) -> Span:
    lines = text.rstrip("\n").split("\n") or [""]
    return Span(filename, len(lines), len(lines[-1]) + 1, len(lines), len(lines[-1]) + 2)


def _offset(e: UnexpectedInput, text: str) -> int:
    if isinstance(e, UnexpectedToken) and e.token.type != "$END" and e.token.start_pos is not None:
        return e.token.start_pos
    if isinstance(e, UnexpectedCharacters):
        return _char_pos(e)
    return len(text)


def _blank_statement(text: str, offset: int) -> str:
    """The text with the statement around `offset` replaced by spaces (newlines kept)."""
    start, end = 0, len(text)
    for s, t in statement_bounds(text):
        if s <= offset <= t:
            start, end = s, t
            break
    chunk = "".join(c if c == "\n" else " " for c in text[start:end])
    return text[:start] + chunk + text[end:]


def statement_bounds(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of top-level statements, aware of strings, comments and brackets."""
    bounds, depth, start, i = [], 0, 0, 0
    while i < len(text):
        c = text[i]
        if c == '"':
            i += 1
            while i < len(text) and text[i] not in '"\n':
                i += 2 if text[i] == "\\" else 1
        elif c == "#":
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth = max(depth - 1, 0)
        elif c in "\n;" and depth == 0:
            bounds.append((start, i))
            start = i + 1
        i += 1
    bounds.append((start, len(text)))
    return bounds


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
        return _tok_span(tok, self.filename)

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
