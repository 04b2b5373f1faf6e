"""Syntax errors in words: a Lark error → a message a person understands and the span it is
about, and the statement bounds the parser blanks to go on and find the next error.

Input: a Lark `UnexpectedInput`, the tokens the post-lexer saw, the text. Output: (message, span).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from gencode.source import Span

if TYPE_CHECKING:
    from gencode.parse import BracketNewlines

OPEN = {"LPAR": "RPAR", "LSQB": "RSQB", "LBRACE": "RBRACE"}  # bracket tokens, opener -> closer
CLOSE = {v: k for k, v in OPEN.items()}

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


def describe(
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
        return f"this '{opener.value}' is never closed", token_span(opener, filename)
    span = token_span(tok, filename) if tok.type != "$END" else _end_span(text, filename)
    if tok.type in CLOSE and not (expected & {tok.type}):
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


def token_span(tok: Token, filename: str) -> Span:
    line, column = _line_col(tok)
    end_line = tok.end_line or line
    end_col = tok.end_column or (column + max(len(tok.value), 1))
    if tok.type == "_NL":
        end_line, end_col = line, column + 1
    return Span(filename, line, column, end_line, end_col)


def _end_span(text: str, filename: str) -> Span:
    lines = text.rstrip("\n").split("\n") or [""]
    return Span(filename, len(lines), len(lines[-1]) + 1, len(lines), len(lines[-1]) + 2)


def error_offset(e: UnexpectedInput, text: str) -> int:
    if isinstance(e, UnexpectedToken) and e.token.type != "$END" and e.token.start_pos is not None:
        return e.token.start_pos
    if isinstance(e, UnexpectedCharacters):
        return _char_pos(e)
    return len(text)


def blank_statement(text: str, offset: int) -> str:
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
