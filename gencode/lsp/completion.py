"""Completion: the cursor's context → the words that fit there.

Input: an `Analysis` (names in scope, the model in force), the current text and a cursor.
Output: lsprotocol CompletionItems: ops and settings at a statement's start; an op's keywords
(those not given yet) and positional choices inside a call; a setting's or keyword's values;
sampler and model names (GENCODE_MODELS included); the model's prompt words inside strings;
the names in scope.
"""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types as lsp

from gencode import ast
from gencode.check.frame_expr import MATH, VARIABLES
from gencode.lsp import docs
from gencode.lsp.analysis import Analysis
from gencode.lsp.context import Context, around, context_at
from gencode.lsp.convert import Lines
from gencode.lsp.navigation import names_before
from gencode.models.catalog import ModelCatalog
from gencode.ops.signatures import Arg
from gencode.ops.table import SIGNATURES
from gencode.samplers.names import DIFFUSERS_PREFIX, DIFFUSERS_SCHEDULERS
from gencode.settings import SETTINGS

K = lsp.CompletionItemKind
PATH_HEADS = ("include", "load", "save", "model")  # the words whose string is a file name


def complete(
    an: Analysis, lines: Lines, pos: lsp.Position, catalog: ModelCatalog, root: Path
) -> list[lsp.CompletionItem]:
    ctx = context_at(lines.text, lines.offset(pos), around(an, lines, pos.line))
    if ctx.string is not None:
        return _in_string(an, ctx, pos, catalog, root)
    names = names_before(an.program, pos.line + 1)
    if ctx.first:
        return (
            [_item(s, K.Property, docs.setting_doc(s)) for s in SETTINGS]
            + _ops()
            + [_item(k, K.Keyword, docs.KEYWORDS[k]) for k in ("let", "param", "include")]
            + _names(names)
        )
    if ctx.setting is not None and ctx.before == 1:
        return _values(SETTINGS[ctx.setting], catalog) + _expression(names)
    frame = ctx.frame
    if frame.op is not None and frame.expect_value is not None:
        arg = SIGNATURES[frame.op].keyword(frame.expect_value)
        return (_values(arg, catalog) if arg else []) + _names(names)
    if frame.op is not None:
        return _in_call(an, ctx, pos, catalog) + _names(names)
    return _expression(names) if frame.fresh else []


def _in_call(an: Analysis, ctx: Context, pos, catalog: ModelCatalog) -> list[lsp.CompletionItem]:
    frame = ctx.frame
    assert frame.op is not None
    sig = SIGNATURES[frame.op]
    items = [
        _item(a.name, K.Field, docs.keyword_doc(sig.name, a.name))
        for a in sig.keywords
        if a.name not in frame.given
    ]
    if frame.positional < len(sig.positional):
        items += _values(sig.positional[frame.positional], catalog)
    if sig.open_keywords:
        model = _model(an, pos.line + 1, catalog)
        items += (
            [_item(a, K.Field, f"attribute of {model.name}") for a in model.attributes]
            if model
            else []
        )
    return items


def _values(arg: Arg, catalog: ModelCatalog) -> list[lsp.CompletionItem]:
    if arg.name == "model":
        return [_item(n, K.Module, "model") for n in catalog.names()]
    if arg.name == "sampler":
        diffusers = [f'"{DIFFUSERS_PREFIX}{c}"' for c in DIFFUSERS_SCHEDULERS]
        return [_item(c, K.EnumMember, "sampler") for c in arg.choices or ()] + [
            _item(d, K.EnumMember, "diffusers scheduler (needs the sd extra)") for d in diffusers
        ]
    return [_item(c, K.EnumMember, docs.arg_line(arg)) for c in arg.choices or ()]


def _in_string(
    an, ctx: Context, pos, catalog: ModelCatalog, root: Path
) -> list[lsp.CompletionItem]:
    path_of = ctx.frame.op if ctx.frame.op in PATH_HEADS else ctx.head
    if path_of in PATH_HEADS:  # a file name, not prompt words
        return _files(root, path_of)
    if ctx.setting == "sampler" or ctx.frame.expect_value == "sampler":
        return [
            _item(DIFFUSERS_PREFIX + c, K.EnumMember, "diffusers scheduler")
            for c in DIFFUSERS_SCHEDULERS
        ]
    model = _model(an, pos.line + 1, catalog)
    if model is None:
        return []
    return [_item(w, K.Text, f"a word {model.name} knows") for w in model.vocabulary]


def _files(root: Path, head: str | None) -> list[lsp.CompletionItem]:
    suffixes = {
        "include": (".gen",),
        "load": (".png", ".jpg", ".jpeg", ".webp"),
        "model": (".safetensors",),
    }.get(head or "")
    if suffixes is None or not root.is_dir():
        return []
    found = sorted(p for p in root.iterdir() if p.suffix.lower() in suffixes)[:200]
    return [_item(p.name, K.File, "file") for p in found]


def _model(an: Analysis, line: int, catalog: ModelCatalog):
    """The model in force at `line`: the last `model` setting before it, else the default."""
    value: ast.Expr = ast.Name(str(SETTINGS["model"].default))
    for s in an.program.statements:
        if isinstance(s, ast.Setting) and s.name == "model" and s.span.line < line:
            value = s.value
    try:
        if isinstance(value, ast.Name):
            return catalog.resolve(value.id)
        if isinstance(value, ast.String):
            return catalog.resolve(value.value, Path(an.filename).parent, builtin=False)
    except Exception:  # noqa: BLE001 — an unusable model gives no words (the checker says why)
        return None
    return None


def _ops() -> list[lsp.CompletionItem]:
    return [_item(name, K.Function, docs.op_doc(name)) for name in SIGNATURES]


def _expression(names: dict[str, ast.Stmt]) -> list[lsp.CompletionItem]:
    math = [_item(f, K.Function, docs.word_doc(f)) for f in MATH]
    return (
        _ops() + _names(names) + math + [_item(v, K.Variable, docs.word_doc(v)) for v in VARIABLES]
    )


def _names(names: dict[str, ast.Stmt]) -> list[lsp.CompletionItem]:
    # Many names in a long script: a plain detail line each, no Markdown.
    return [
        lsp.CompletionItem(
            label=n,
            kind=K.Constant if isinstance(s, ast.Param) else K.Variable,
            detail=f"defined on line {s.span.line}",
        )
        for n, s in names.items()
    ]


def _item(label: str, kind: lsp.CompletionItemKind, doc: str | None) -> lsp.CompletionItem:
    markup = lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=doc) if doc else None
    return lsp.CompletionItem(label=label, kind=kind, documentation=markup)
