"""Words → Markdown docs, built from the tables the checker uses (op signatures, settings, the
model catalog); nothing here restates what those tables say.

Input: a name (an op, a setting, a keyword of an op, a model). Output: Markdown for hovers and
completion items.
"""

from __future__ import annotations

from pathlib import Path

from gencode import types as T
from gencode.check.frame_expr import MATH, VARIABLES
from gencode.models.catalog import ModelCatalog
from gencode.ops.signatures import REQUIRED, Arg, FromSetting
from gencode.ops.table import SIGNATURES
from gencode.settings import MODEL_DEFAULTS, SETTINGS

# The statement words of the grammar (grammar/gen.lark); each is explained only here.
KEYWORDS = {
    "let": "`let NAME = VALUE` binds a name (`let` is optional: `NAME = VALUE`).",
    "param": "`param NAME = DEFAULT` declares a value the command line can override: "
    "`--set NAME=VALUE`.",
    "include": '`include "other.gen"` runs another script\'s statements here.',
    "as": "`EXPR as NAME` outputs a value and binds it to NAME.",
}


def arg_line(arg: Arg) -> str:
    """`name`: what it takes, its range and default, in one line."""
    parts = [T.words(arg.types)]
    if arg.choices:
        parts.append("one of " + ", ".join(f"`{c}`" for c in arg.choices))
    if arg.lo is not None and arg.hi is not None:
        parts.append(f"{arg.lo:g} to {arg.hi:g}" + (", whole" if arg.integer else ""))
    if isinstance(arg.default, FromSetting):
        parts.append(f"default: the `{arg.default.name}` setting")
    elif arg.default is REQUIRED:
        parts.append("required")
    elif arg.default is not None:
        parts.append(f"default `{_shown(arg.default)}`")
    return f"`{arg.name}`: " + "; ".join(parts)


def _shown(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def op_doc(name: str) -> str:
    sig = SIGNATURES[name]
    words = [f"[{a.name}]" if not a.required else a.name.upper() for a in sig.positional]
    head = " ".join([name, *words, *(f"[{a.name} …]" for a in sig.keywords)])
    lines = [f"**{name}** (op): {sig.doc}", "", f"`{head}`", ""]
    lines += [f"- {arg_line(a)}" for a in sig.positional]
    lines += [f"- keyword {arg_line(a)}" for a in sig.keywords]
    if sig.open_keywords:
        lines.append("- keywords: the model's attributes, each with an amount")
    return "\n".join(lines)


def keyword_doc(op: str, name: str) -> str:
    arg = SIGNATURES[op].keyword(name)
    assert arg is not None
    return f"keyword of **{op}**: {arg_line(arg)}"


def setting_doc(name: str) -> str:
    arg = SETTINGS[name]
    model = " (when not set, the model's default)" if name in MODEL_DEFAULTS else ""
    return f"**{name}** (setting): {arg_line(arg)}{model}\n\nApplies to every statement after it."


def model_doc(
    catalog: ModelCatalog, name: str, builtin: bool = True, folder: Path | None = None
) -> str | None:
    """A model's docs; `name` is a model name, or (builtin=False) a path from `folder`."""
    try:
        ref = catalog.resolve(name, folder, builtin=builtin)
    except Exception:  # noqa: BLE001 — an unknown or broken model has no docs (the checker says why)
        return None
    lines = [f"**{ref.name}** (model, {ref.family}): sha256 `{ref.sha256[:16]}…`"]
    if ref.vocabulary:
        lines.append("\nprompt words: " + ", ".join(ref.vocabulary))
    if ref.attributes:
        lines.append("\nattributes (for `edit`): " + ", ".join(ref.attributes))
    defaults = {s: ref.default(s) for s in MODEL_DEFAULTS if ref.default(s) is not None}
    if defaults:
        lines.append("\ndefaults: " + ", ".join(f"{k} {v}" for k, v in defaults.items()))
    return "\n".join(lines)


def word_doc(word: str) -> str | None:
    """Docs for a word that means the same everywhere (keywords, math, frame variables)."""
    if word in KEYWORDS:
        return KEYWORDS[word]
    if word in MATH:
        arity = MATH[word][0]
        return f"**{word}** (math function of {arity} argument{'s' if arity != 1 else ''})"
    if word in VARIABLES:
        return f"**{word}**: a frame variable (its value changes from frame to frame)"
    return None
