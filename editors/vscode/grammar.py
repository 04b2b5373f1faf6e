"""Writes syntaxes/gen.tmLanguage.json, the TextMate grammar, from gencode's own tables.

Input: the settings, op signatures, math functions and frame variables the checker uses.
Output: the grammar file (a test checks the committed file is what this writes).
Usage: python editors/vscode/grammar.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from gencode.check.frame_expr import MATH, VARIABLES
from gencode.ops.table import SIGNATURES
from gencode.settings import SETTINGS

OUT = Path(__file__).parent / "syntaxes" / "gen.tmLanguage.json"


def _words(names) -> str:
    """An alternation matching whole words, longest first (`seed_mode` before `seed`)."""
    return "|".join(sorted(set(names), key=lambda n: (-len(n), n)))


def _patterns() -> list[dict]:
    """The top-level rules in priority order (the earliest match wins, then the first rule)."""
    keywords = {a.name for s in SIGNATURES.values() for a in s.keywords}
    choices = {c for a in SETTINGS.values() for c in a.choices or ()}
    choices |= {
        c
        for s in SIGNATURES.values()
        for a in (*s.positional, *s.keywords)
        for c in a.choices or ()
    }
    word = r"(?<![\w-])(?:{})(?![\w-])"
    patterns = [
        {"include": "#comment"},
        {"include": "#string"},
        {
            "comment": "a setting starts a statement: `seed 42`",
            "match": r"(?:^|(?<=;))\s*(" + word.format(_words(SETTINGS)) + ")",
            "captures": {"1": {"name": "support.type.property-name.setting.gen"}},
        },
        {
            "comment": "a binding: `name = ...`, `let name = ...`, `param name = ...`",
            "match": r"(?:^|(?<=;))\s*(?:(let|param)\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*(=)(?!=)",
            "captures": {
                "1": {"name": "storage.type.gen"},
                "2": {"name": "entity.name.variable.gen"},
                "3": {"name": "keyword.operator.assignment.gen"},
            },
        },
        {
            "match": r"(?<![\w-])(as)\s+([A-Za-z_][A-Za-z0-9_]*)",
            "captures": {
                "1": {"name": "keyword.control.as.gen"},
                "2": {"name": "entity.name.variable.gen"},
            },
        },
        {"match": r"(?<![\w-])include(?![\w-])", "name": "keyword.control.import.gen"},
        {"match": word.format(_words(SIGNATURES)), "name": "support.function.op.gen"},
        {"match": word.format(_words(MATH)), "name": "support.function.math.gen"},
        {
            "match": word.format(_words(keywords | set(SETTINGS))),
            "name": "variable.parameter.keyword.gen",
        },
        {"match": word.format(_words(choices)), "name": "constant.language.gen"},
        {"match": word.format(_words([*VARIABLES, "pi"])), "name": "variable.language.gen"},
        *SYMBOLS,
    ]
    return patterns


# Numbers, operators, punctuation and the rest, after the words.
SYMBOLS: list[dict] = [
    {"include": "#number"},
    {"match": r"\.\.", "name": "keyword.operator.range.gen"},
    {"match": r"[-+*/]", "name": "keyword.operator.arithmetic.gen"},
    {"match": "=", "name": "keyword.operator.assignment.gen"},
    {"match": ";", "name": "punctuation.terminator.statement.gen"},
    {"match": ",", "name": "punctuation.separator.comma.gen"},
    {"match": ":", "name": "punctuation.separator.key-value.gen"},
    {"match": r"[(\[{]", "name": "punctuation.section.brackets.begin.gen"},
    {"match": r"[)\]}]", "name": "punctuation.section.brackets.end.gen"},
    {"match": r"\\\s*$", "name": "punctuation.separator.continuation.gen"},
    {"match": r"[A-Za-z_][A-Za-z0-9_]*", "name": "variable.other.gen"},
    {"match": r"[^\s]", "name": "invalid.illegal.character.gen"},
]


# Rules the top-level patterns include by name.
REPOSITORY: dict = {
    "comment": {"match": "#.*$", "name": "comment.line.number-sign.gen"},
    "string": {
        "begin": '"',
        "end": r'"|$',
        "name": "string.quoted.double.gen",
        "patterns": [
            {
                "match": r'\\(?:[nt"\\r0]|u\{[0-9A-Fa-f]+\})',
                "name": "constant.character.escape.gen",
            }
        ],
    },
    "number": {
        "patterns": [
            {"match": r"(?<![\w.])\d+x\d+(?![\w.])", "name": "constant.numeric.size.gen"},
            {
                "match": r"(?<![\w.])(?:\d+\.\d+|\d+)b(?!\w)",
                "name": "constant.numeric.beats.gen",
            },
            {
                "comment": "`-2` after a space or bracket is one number, as in the parser",
                "match": r"(?:(?<=[\s(\[{,:])-|(?<=^)-)?(?<![\w.])(?:\d+\.\d+|\d+|\.\d+)(?:[eE][+-]?\d+)?(?![\w])",
                "name": "constant.numeric.gen",
            },
        ]
    },
}


def grammar() -> dict:
    return {
        "$schema": "https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json",
        "name": "gencode",
        "scopeName": "source.gen",
        "fileTypes": ["gen"],
        "comment": "Generated by editors/vscode/grammar.py from gencode's tables; do not edit.",
        "patterns": _patterns(),
        "repository": REPOSITORY,
    }


def text() -> str:
    return json.dumps(grammar(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    OUT.write_text(text(), encoding="utf-8")
    print(f"wrote {OUT}", file=sys.stderr)
