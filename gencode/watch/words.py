"""Words: the checker's tables → the editor's vocabulary (completion and highlighting), and a
rebound AST → a renderable Script (the sliders' fast path: check and compile, no parse).

Nothing here is a copy of a list: ops, keywords and choices come from `SIGNATURES`, settings
from `SETTINGS`, math from the frame-expression table, signals from `gencode.signals.names`,
statement words from the grammar file, prompt words from the model the script names.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from gencode import ast
from gencode.check.frame_expr import MATH, VARIABLES
from gencode.errors import GenError
from gencode.ops.signatures import SAMPLER_NAMES
from gencode.ops.table import SIGNATURES
from gencode.parse import grammar_path
from gencode.settings import SETTINGS
from gencode.signals.names import SIGNALS


def vocabulary(text: str, name: str, path: Path, sets: dict[str, str]) -> dict[str, Any]:
    """JSON for /api/words."""
    keywords: set[str] = set()
    symbols: set[str] = set()
    for sig in SIGNATURES.values():
        keywords.update(a.name for a in sig.keywords)
        for arg in (*sig.positional, *sig.keywords):
            symbols.update(arg.choices or ())
    for arg in SETTINGS.values():
        symbols.update(arg.choices or ())
    return {
        "ops": [{"name": s.name, "doc": s.doc} for s in SIGNATURES.values()],
        "settings": sorted(SETTINGS),
        "statements": statement_words(),
        "keywords": sorted(keywords - set(SIGNATURES)),
        "samplers": list(SAMPLER_NAMES),
        "symbols": sorted(symbols - set(SAMPLER_NAMES)),
        "functions": sorted(MATH),
        "variables": [*VARIABLES, "pi"],
        "signals": [{"name": s.name, "doc": s.doc} for s in SIGNALS.values()],
        "prompt_words": prompt_words(text, name, path, sets),
    }


def statement_words() -> list[str]:
    """The grammar's own keywords: quoted words (`"param"`) and keyword terminals (`LET`)."""
    grammar = re.sub(r"//[^\n]*", "", grammar_path().read_text(encoding="utf-8"))
    quoted = re.findall(r'"([a-z]+)"', grammar)
    terminals = re.findall(r"^_?[A-Z]+\.\d+: /([a-z]+)\(\?!", grammar, re.M)
    return sorted(set(quoted + terminals))


def prompt_words(text: str, name: str, path: Path, sets: dict[str, str]) -> list[str]:
    """The vocabulary of the models the script resolves (the default model's if none)."""
    from gencode.check import check_text
    from gencode.runtime.models import RecordingCatalog

    catalog = RecordingCatalog()
    try:
        check_text(text, name, path.resolve().parent, sets, catalog)
    except GenError:
        pass  # a broken script still names its model before the error, usually
    refs = catalog.resolved
    if not refs:
        try:
            refs = [catalog.resolve(str(SETTINGS["model"].default))]
        except Exception:  # no default model installed: complete without prompt words
            return []
    words = {w for ref in refs for w in ref.vocabulary}
    words |= {w for ref in refs for w in ref.meta.get("aliases", {})}
    return sorted(words)


def load_program(
    program: ast.Program, text: str, name: str, path: Path, sets: dict[str, str]
) -> Any:
    """A Script from an already parsed (rebound) program: what `load_script` does after parse."""
    from gencode.check.program import check
    from gencode.check.state import State
    from gencode.compile import compile_program
    from gencode.render import Script
    from gencode.runtime.models import RecordingCatalog

    catalog = RecordingCatalog()
    root = path.resolve().parent
    state = State(catalog, root, dict(sets))
    state.sources[name] = text
    state.files.append(name)
    checked = check(program, state)
    from gencode.signals.audio import track_signals  # `audio "x.wav"`, as load_script reads it

    graph = compile_program(checked, signals=track_signals(root, checked.audio))
    return Script(checked, graph, root, path, catalog, dict(sets))
