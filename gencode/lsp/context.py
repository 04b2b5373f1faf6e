"""Where the cursor is: text and an offset → the word, the statement, the op and keyword around it.

Input: a document's text and a character offset. Output: `Context`, read by hover and completion.
Works on the tokens of the one statement holding the cursor (gencode.tokens), so a broken
statement elsewhere, or this one half typed, does not matter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gencode.lsp.analysis import Analysis, lines_around
from gencode.ops.table import SIGNATURES
from gencode.parse import statement_bounds
from gencode.tokens import Tok, tokens

if TYPE_CHECKING:
    from gencode.lsp.convert import Lines

WORDS = ("NAME", "SETTING", "LET", "_AS", "PARAM", "INCLUDE")
_EXPR_START = {
    "EQUAL",
    "PLUS",
    "MINUS",
    "STAR",
    "SLASH",
    "COMMA",
    "COLON",
    "LPAR",
    "LSQB",
    "LBRACE",
}
_OPEN, _CLOSE = {"LPAR", "LSQB", "LBRACE"}, {"RPAR", "RSQB", "RBRACE"}


@dataclass
class Frame:
    """The words of one expression inside a bracket (or the statement's own)."""

    op: str | None = None
    given: set[str] = field(default_factory=set)  # keywords given so far
    positional: int = 0  # words given to positional slots so far
    expect_value: str | None = None  # the keyword just written, waiting for its value
    fresh: bool = True  # the next word starts an expression


@dataclass
class Context:
    word: str  # the word the cursor is on or just after ('' when none)
    start: int  # offset where that word starts (the cursor when none)
    end: int
    string: Tok | None  # the string the cursor is inside
    setting: str | None  # the statement is `SETTING value` and the cursor is past the setting
    first: bool  # the cursor is on the statement's first word
    frame: Frame
    head: str | None  # the statement's first word
    before: int  # how many tokens of the statement come before the cursor's word


def context_at(text: str, offset: int, within: tuple[int, int] | None = None) -> Context:
    """The context of the cursor at `offset` (a character offset into `text`); `within` is a
    stretch of whole statements holding the cursor, to look at instead of the whole text."""
    lo, hi = _statement(text, offset, within or (0, len(text)))
    toks = [_shifted(t, lo) for t in tokens(text[lo:hi]) if t.type not in ("COMMENT", "_NL")]
    before = [t for t in toks if t.offset < offset]
    last = before[-1] if before else None
    string = last if last and _inside_string(last, offset) else None
    word, start, end = "", offset, offset
    if last and last.type in WORDS and last.offset + len(last.text) >= offset:
        word, start, end = last.text, last.offset, last.offset + len(last.text)
        before = before[:-1]
    head = toks[0].text if toks else None
    setting = before[0].text if before and before[0].type == "SETTING" else None
    return Context(word, start, end, string, setting, not before, _frame(before), head, len(before))


def _statement(text: str, offset: int, within: tuple[int, int]) -> tuple[int, int]:
    base = within[0]
    for lo, hi in statement_bounds(text[within[0] : within[1]]):
        if lo + base <= offset <= hi + base:
            return lo + base, hi + base
    return offset, offset


def _shifted(t: Tok, by: int) -> Tok:
    return Tok(t.type, t.text, t.offset + by, t.line, t.column)


def _inside_string(t: Tok, offset: int) -> bool:
    opened = t.type == "STRING" or (t.type == "ERROR" and t.text.startswith('"'))
    closed = t.type == "STRING" and len(t.text) > 1
    return opened and (offset < t.offset + len(t.text) or not closed)


def _frame(before: list[Tok]) -> Frame:
    """The innermost expression's frame after the tokens before the cursor."""
    stack = [Frame()]
    for t in before:
        f = stack[-1]
        if t.type in _OPEN:
            _took_word(f)
            stack.append(Frame())
        elif t.type in _CLOSE:
            if len(stack) > 1:
                stack.pop()
        elif t.type in _EXPR_START:
            f.fresh, f.expect_value = True, None
            if t.type == "EQUAL":
                f.op = None
        elif f.fresh and t.text in SIGNATURES:
            stack[-1] = Frame(op=t.text, fresh=False)
        elif f.op and f.expect_value is None and _is_keyword(f.op, t.text):
            f.given.add(t.text)
            f.expect_value = t.text
        else:
            _took_word(f)
    return stack[-1]


def _took_word(f: Frame) -> None:
    if f.expect_value is None and not f.fresh:
        f.positional += 1
    f.expect_value, f.fresh = None, False


def _is_keyword(op: str, word: str) -> bool:
    sig = SIGNATURES[op]
    return sig.keyword(word) is not None


def context_under(text: str, offset: int, within: tuple[int, int] | None = None) -> Context:
    """The context of the word under the cursor, also when the cursor is on its first letter."""
    if offset < len(text) and (text[offset].isalnum() or text[offset] in '_"'):
        offset += 1
    return context_at(text, offset, within)


def around(an: Analysis, lines: Lines, row: int) -> tuple[int, int]:
    """Offsets of the statements on LSP row `row` (the row alone when the analysis is stale)."""
    first, last = lines_around(an, row + 1) if an.text == lines.text else (row + 1, row + 1)
    return lines.stretch(first, last)
