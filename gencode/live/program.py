"""Program: a live script's files → a checked program that compiles to one frame's graph.

Input: the script (its text on disk, or recorded sources), `--set` values, number overrides keyed
by (line, column) of the main file, forced settings (replay at another size). Output: `Program`,
whose `graph(frame, signals, pictures)` is the op graph of the frame the stream shows. Checking is
torch-free and takes milliseconds; compiling a frame takes a fraction of one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from gencode import ast
from gencode import types as T
from gencode.check.program import check
from gencode.check.state import State
from gencode.compile import compile_program
from gencode.errors import GenError
from gencode.graph import Graph, Node
from gencode.ir import CheckedProgram
from gencode.parse import parse
from gencode.runtime.models import RecordingCatalog
from gencode.source import NOSPAN

Numbers = dict[tuple[int, int], float]  # (line, column) of a literal in the main file → value
LIVE_SETTINGS = ("fps", "bpm", "quantize", "crossfade", "skip_similar", "size", "seed")


@dataclass
class Program:
    """One checked version of the script; `number` counts the versions that went live."""

    path: Path
    checked: CheckedProgram
    settings: dict[str, Any]  # the live settings in force at the end of the script
    catalog: RecordingCatalog
    numbers: Numbers = field(default_factory=dict)
    number: int = 0
    compiles: int = 0  # frames compiled (a test counts them)
    kept: dict[int, Node] = field(default_factory=dict, repr=False)  # frame-invariant nodes

    @property
    def root(self) -> Path:
        return self.path.resolve().parent

    @cached_property
    def shown(self) -> CheckedProgram:
        """The program as the stream sees it: only the last output, the one it shows."""
        return dataclasses.replace(self.checked, outputs=self.checked.outputs[-1:])

    def graph(
        self, frame: int, signals: dict[str, float], pictures: dict[str, str | None]
    ) -> Graph:
        """The graph of the stream's frame: the script's last output, taken at `frame`. Only
        what varies with the frame is lowered and keyed again; the rest is kept from before."""
        self.compiles += 1
        return compile_program(self.shown, frame, signals, pictures, self.kept)

    def sources(self) -> dict[str, str]:
        """Every file read, relative to the script's folder, with its text."""
        return {_relative(f, self.root): t for f, t in self.checked.sources.items()}


def load(
    path: Path,
    sets: dict[str, str] | None = None,
    numbers: Numbers | None = None,
    forced: dict[str, Any] | None = None,
    text: str | None = None,
) -> Program:
    """Check the script (its `text` if given, else the file); raises GenError with every error."""
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            why = e.strerror if isinstance(e, OSError) else str(e)
            raise GenError.at(None, f"{path}: can't read script ({why})") from None
    if not text.strip():
        raise GenError.at(None, f"{path}: the script is empty")
    tree = parse(text, str(path))
    tree = override_numbers(tree, str(path), numbers or {})
    tree = force_settings(tree, forced or {})
    catalog = RecordingCatalog()
    state = State(catalog, path.resolve().parent, dict(sets or {}))
    state.sources[str(path)] = text
    state.files.append(str(path))
    checked = check(tree, state)
    if not checked.outputs:
        raise GenError.at(None, f"{path}: nothing to show: the script has no output")
    if checked.outputs[-1].value.type not in (T.IMAGE, T.IMAGES):
        raise GenError.at(checked.outputs[-1].span, "the stream shows an image or a sequence")
    settings = {k: state.setting(k) for k in LIVE_SETTINGS}
    return Program(path, checked, settings, catalog, dict(numbers or {}))


def override_numbers(tree: ast.Program, file: str, numbers: Numbers) -> ast.Program:
    """The tree with the number literals at these (line, column)s of `file` rebound."""
    if not numbers:
        return tree

    def visit(node: Any) -> Any:
        if isinstance(node, ast.Number):
            span = node.span
            key = (span.line, span.column)
            if span is not NOSPAN and span.file == file and key in numbers:
                return dataclasses.replace(node, value=float(numbers[key]))
            return node
        if isinstance(node, tuple):
            return tuple(visit(x) for x in node)
        if dataclasses.is_dataclass(node) and isinstance(node, ast.Node):
            changes = {f.name: visit(getattr(node, f.name)) for f in _fields(node)}
            return dataclasses.replace(node, **changes)
        return node

    return visit(tree)


def force_settings(tree: ast.Program, forced: dict[str, Any]) -> ast.Program:
    """The tree with these settings fixed: each of the script's lines setting them is dropped
    and one line setting the forced value opens the script (a replay at a higher quality)."""
    if not forced:
        return tree
    kept = [s for s in tree.statements if not (isinstance(s, ast.Setting) and s.name in forced)]
    first = [ast.Setting(name, _literal(v)) for name, v in forced.items()]
    return dataclasses.replace(tree, statements=tuple(first + kept))


def _literal(v: Any) -> ast.Expr:
    if isinstance(v, tuple | list):
        return ast.Size(int(v[0]), int(v[1]))
    return ast.Number(float(v))


def _fields(node: Any) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(node) if f.name != "span"]


def _relative(file: str, root: Path) -> str:
    p = Path(file).resolve() if Path(file).is_absolute() else (root / Path(file).name)
    try:
        return p.relative_to(root).as_posix()
    except ValueError:
        return p.name
