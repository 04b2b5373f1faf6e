"""The checker's state while it walks a script: settings in force, bindings, diagnostics."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gencode import ast
from gencode.check.frame_expr import FrameExpr
from gencode.errors import Diagnostic
from gencode.graph import Node
from gencode.ir import CheckedOutput, Const, Sched
from gencode.models.catalog import ModelCatalog, ModelRef
from gencode.seeds import hash_seed
from gencode.settings import MODEL_DEFAULTS, SETTINGS
from gencode.source import Span


class Abort(Exception):
    """Stop checking the current statement (its error is already recorded)."""


def derive_seed(seed: int, name: str) -> int:
    """A seed for the implicit latent `name` under `seed`: stable across renders and edits."""
    return hash_seed(f"{seed}:{name}")


@dataclass
class State:
    catalog: ModelCatalog
    root_dir: Path
    overrides: dict[str, str] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)  # explicitly set, by name
    bindings: dict[str, Const | Node | Sched | FrameExpr] = field(default_factory=dict)
    outputs: list[CheckedOutput] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    include_stack: list[Path] = field(default_factory=list)
    included: dict[Path, ast.Program] = field(default_factory=dict)  # parsed once per check
    include_count: int = 0
    expanded_bytes: int = 0
    errors: int = 0  # checking stops at MAX_ERRORS
    params: dict[str, Any] = field(default_factory=dict)
    model_ref: ModelRef | None = None
    model_span: Span | None = None
    warned_words: set[tuple[str, str]] = field(default_factory=set)  # (word, model name)
    model_failed: bool = False
    setting_spans: dict[str, Span] = field(default_factory=dict)  # where each was last set
    # Names whose binding failed (its error already reported): uses of them stop quietly.
    failed_names: set[str] = field(default_factory=set)
    audio: Const | None = None  # `audio "track.wav"`: its path relative to the root, and span

    def error(self, span: Span | None, message: str) -> Abort:
        self.diagnostics.append(Diagnostic("error", message, span))
        self.errors += 1
        return Abort()

    def note(self, span: Span | None, message: str, severity: str = "note") -> None:
        self.diagnostics.append(Diagnostic(severity, message, span))

    def setting(self, name: str) -> Any:
        """The value in force: set by the script, else the model's default, else the language's."""
        if name in self.settings:
            return self.settings[name]
        if name in MODEL_DEFAULTS and name != "size":
            model = self.model(None)
            if model.default(name) is not None:
                return model.default(name)
        if name == "size":
            native = self.model(None).default("size") or 32
            return (int(native), int(native)) if isinstance(native, int | float) else tuple(native)
        return SETTINGS[name].default

    def model(self, span: Span | None) -> ModelRef:
        """The model in force (the built-in default when the script names none)."""
        if self.model_failed:
            raise Abort()
        if self.model_ref is None:
            name = SETTINGS["model"].default
            try:
                self.model_ref = self.catalog.resolve(str(name))
            except Exception as e:  # noqa: BLE001 — any failure is reported the same way
                self.model_failed = True
                raise self.error(span, f"the default model '{name}' can't be used: {e}") from None
        return self.model_ref
