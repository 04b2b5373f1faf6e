"""Hover: the word under the cursor → its docs (ops, keywords, settings, models, names).

Input: an `Analysis`, the current text and a cursor. Output: an lsprotocol Hover or None.
"""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types as lsp

from gencode.lsp import docs
from gencode.lsp.analysis import Analysis
from gencode.lsp.context import around, context_under
from gencode.lsp.convert import Lines
from gencode.lsp.navigation import definition_of
from gencode.models.catalog import ModelCatalog
from gencode.ops.table import SIGNATURES
from gencode.parse import unescape
from gencode.settings import SETTINGS


def hover(an: Analysis, lines: Lines, pos: lsp.Position, catalog: ModelCatalog) -> lsp.Hover | None:
    ctx = context_under(lines.text, lines.offset(pos), around(an, lines, pos.line))
    text, start, end = _text(an, lines, ctx, pos, catalog)
    if text is None:
        return None
    markup = lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text)
    return lsp.Hover(contents=markup, range=lines.span_range(start, end))


def _text(an, lines, ctx, pos, catalog) -> tuple[str | None, int, int]:
    if ctx.string is not None:
        if ctx.setting == "model":
            value = unescape(ctx.string.text.strip('"'))
            tok = ctx.string
            return (
                docs.model_doc(catalog, value, builtin=False, folder=Path(an.filename).parent),
                tok.offset,
                tok.offset + len(tok.text),
            )
        return None, 0, 0
    word, span = ctx.word, (ctx.start, ctx.end)
    if not word:
        return None, 0, 0
    if ctx.first and word in SETTINGS:
        return docs.setting_doc(word), *span
    if ctx.setting == "model":
        return docs.model_doc(catalog, word), *span
    op = ctx.frame.op
    if op and word != op and SIGNATURES[op].keyword(word) is not None:
        return docs.keyword_doc(op, word), *span
    if word in SIGNATURES:
        return docs.op_doc(word), *span
    name = definition_of(an, word, pos.line + 1)
    if name is not None:
        stmt_line = lines.lines[name.span.line - 1].strip()
        return f"`{word}`, defined on line {name.span.line}:\n```gen\n{stmt_line}\n```", *span
    return docs.word_doc(word), *span
