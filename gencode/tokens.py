"""Tokens: .gen text → every token, comments included, never failing (for fmt and editors).

Input: script text. Output: `Tok`s in order. The terminals are the grammar's own (Lark's basic
lexer over grammar/gen.lark), so colours, completion and the formatter see the words the parser
sees. A character no terminal matches becomes an ERROR token (an unterminated string runs to the
end of its line) and lexing resumes after it.
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass

from lark import Lark
from lark.exceptions import UnexpectedCharacters

from gencode.parse import grammar_path

MAX_ERRORS = 200  # past this many bad characters, the rest of the text is one ERROR token


@dataclass(frozen=True)
class Tok:
    """A token; `type` is the grammar's terminal name (COMMENT, STRING, NAME, ...) or ERROR."""

    type: str
    text: str
    offset: int
    line: int  # from 1
    column: int  # from 1


@functools.lru_cache(maxsize=1)
def _lexer() -> Lark:
    return Lark(grammar_path().read_text(encoding="utf-8"), parser="lalr", lexer="basic")


def tokens(text: str) -> list[Tok]:
    """Every token of `text` except white space and line continuations, in order."""
    starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
    out: list[Tok] = []
    pos, errors = 0, 0
    while pos < len(text):
        try:
            for t in _lexer().lex(text[pos:], dont_ignore=True):
                if not t.type.startswith("__IGNORE"):
                    out.append(_tok(t.type, str(t), pos + (t.start_pos or 0), starts))
            return out
        except UnexpectedCharacters as e:
            bad = pos + int(e.pos_in_stream or 0)
            # Tokens before the bad character were yielded already; resume after it.
            end = _error_end(text, bad) if errors < MAX_ERRORS else len(text)
            out.append(_tok("ERROR", text[bad:end], bad, starts))
            pos, errors = end, errors + 1
    return out


def _error_end(text: str, bad: int) -> int:
    if text[bad] == '"':
        nl = text.find("\n", bad)
        return nl if nl >= 0 else len(text)
    return bad + 1


def _tok(type_: str, value: str, offset: int, starts: list[int]) -> Tok:
    line = bisect.bisect_right(starts, offset)
    return Tok(type_, value, offset, line, offset - starts[line - 1] + 1)


def comments(text: str) -> dict[int, str]:
    """Line number → the comment on that line (a comment runs to the end of its line)."""
    return {t.line: t.text.rstrip() for t in tokens(text) if t.type == "COMMENT"}
