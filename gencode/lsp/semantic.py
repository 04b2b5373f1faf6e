"""Semantic tokens: every token of a document → a colour class an editor's theme knows.

Input: the document text. Output: the LSP's relative-encoded integer list. Settings, ops, the
keywords of the op they follow, symbol choices, names, numbers, strings and comments each get
their own class, told apart the way the checker tells them apart (by the op's signature).
"""

from __future__ import annotations

from gencode.check.frame_expr import MATH
from gencode.lsp.convert import Lines
from gencode.ops.table import SIGNATURES
from gencode.settings import SETTINGS
from gencode.tokens import Tok, tokens

TYPES = ["comment", "string", "number", "keyword", "function", "parameter", "variable"]
TYPES += ["operator", "property", "enumMember"]
_INDEX = {t: i for i, t in enumerate(TYPES)}
_FIXED = {
    "COMMENT": "comment",
    "STRING": "string",
    "NUMBER": "number",
    "SIGNED_NUMBER": "number",
    "SIZE": "number",
    "BEATS": "number",
    "__ANON_0": "operator",
    "LET": "keyword",
    "_AS": "keyword",
    "PARAM": "keyword",
    "INCLUDE": "keyword",
    **{k: "operator" for k in ("PLUS", "MINUS", "STAR", "SLASH", "EQUAL")},
}
_CHOICES = {c for a in SETTINGS.values() for c in a.choices or ()} | {
    c for s in SIGNATURES.values() for a in (*s.positional, *s.keywords) for c in a.choices or ()
}


def classify(text: str) -> list[tuple[Tok, str]]:
    """Each token with its class (tokens with none, like brackets, left out)."""
    out, start, depth = [], True, 0
    ops: list[str | None] = [None]
    for t in tokens(text):
        kind = _FIXED.get(t.type) or _word_kind(t, start, ops[-1])
        if t.type in ("LPAR", "LSQB", "LBRACE"):
            depth, ops = depth + 1, [*ops, None]
        elif t.type in ("RPAR", "RSQB", "RBRACE") and depth:
            depth, ops = depth - 1, ops[:-1]
        elif t.type == "SEMICOLON" or (t.type == "_NL" and depth == 0):
            start, ops = True, [None]
            continue
        if kind == "function" and t.text in SIGNATURES:
            ops[-1] = t.text
        if kind:
            out.append((t, kind))
        if t.type != "COMMENT":
            start = False
    return out


def _word_kind(t: Tok, start: bool, op: str | None) -> str | None:
    if t.type not in ("NAME", "SETTING"):
        return None
    if t.type == "SETTING" and start:
        return "property"
    if op is not None and SIGNATURES[op].keyword(t.text) is not None:
        return "parameter"
    if t.text in SIGNATURES or t.text in MATH:
        return "function"
    if t.text in _CHOICES:
        return "enumMember"
    return "variable"


def encode(text: str, lines: Lines) -> list[int]:
    """The LSP's data array: (line delta, start delta, length, type, modifiers) per token."""
    data: list[int] = []
    prev_line, prev_char = 0, 0
    for t, kind in classify(text):
        start = lines.position(t.line, t.column)
        end = lines.position(t.line, t.column + len(t.text))
        delta = start.line - prev_line
        data += [delta, start.character - (prev_char if delta == 0 else 0)]
        data += [end.character - start.character, _INDEX[kind], 0]
        prev_line, prev_char = start.line, start.character
    return data
