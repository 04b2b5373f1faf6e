"""The statement walker: settings, bindings, params, includes and outputs, in order."""

from __future__ import annotations

import math
from pathlib import Path

from gencode import ast
from gencode import types as T
from gencode.check.calls import check_value
from gencode.check.exprs import evaluate
from gencode.check.frame_expr import SIGNAL, VARIABLES
from gencode.check.outputs import (
    binding_name,
    check_collisions,
    renderable,
    save_statement,
    warn_gif_rates,
)
from gencode.check.rules import (
    _plain,
    confined_path,
)
from gencode.check.sizes import check_size
from gencode.check.state import Abort, State
from gencode.errors import GenError, did_you_mean
from gencode.files import FileProblem, path_text_problem, read_text
from gencode.ir import CheckedOutput, CheckedProgram, Const
from gencode.limits import (
    MAX_ERRORS,
    MAX_EXPANDED_BYTES,
    MAX_INCLUDE_DEPTH,
    MAX_INCLUDES,
    MAX_SCRIPT_BYTES,
)
from gencode.models.catalog import ModelCatalog
from gencode.models.checkpoint import CheckpointError
from gencode.ops.table import SIGNATURES
from gencode.parse import parse
from gencode.settings import SETTINGS
from gencode.signals.names import SIGNALS

RESERVED = set(SETTINGS) | set(SIGNATURES) | set(SIGNALS) | set(VARIABLES) | {"pi", SIGNAL}


def check_file(
    path: str | Path, overrides: dict[str, str] | None = None, catalog: ModelCatalog | None = None
) -> CheckedProgram:
    """Check a script file (and its includes)."""
    p = Path(path)
    problem = path_text_problem(str(p))
    if problem:
        raise GenError.at(None, f"{ascii(str(p))}: {problem}")
    try:
        text = read_text(p, MAX_SCRIPT_BYTES, "script")
    except FileProblem as e:
        raise GenError.at(None, f"{p}: can't read script ({e.why})") from None
    return check_text(text, str(p), p.resolve().parent, overrides, catalog)


def check_text(
    text: str,
    filename: str = "<script>",
    root_dir: Path | None = None,
    overrides: dict[str, str] | None = None,
    catalog: ModelCatalog | None = None,
) -> CheckedProgram:
    """Check script text; `root_dir` is the folder its includes and images are read from."""
    state = State(
        catalog or ModelCatalog(), (root_dir or Path.cwd()).resolve(), dict(overrides or {})
    )
    state.sources[filename] = text
    state.files.append(filename)
    program = parse(text, filename)
    return check(program, state)


def check(program: ast.Program, state: State) -> CheckedProgram:
    """Walk the statements; raise GenError with every error, else return the checked program."""
    _statements(state, program)
    warn_gif_rates(state)
    if state.errors >= MAX_ERRORS:
        state.note(None, f"stopped after {MAX_ERRORS} errors")
    check_collisions(state)
    for name in state.overrides:
        if name not in state.params:
            known = ", ".join(sorted(state.params)) or "none"
            state.note(
                None, f"--set {name}: the script has no param '{name}' (params: {known})", "warning"
            )
    if any(d.severity == "error" for d in state.diagnostics):
        raise GenError(state.diagnostics, state.sources)
    device = state.setting("device")
    return CheckedProgram(
        state.outputs,
        state.files,
        state.sources,
        state.diagnostics,
        state.params,
        str(device),
        state.setting_spans.get("device"),
        str(state.audio.value) if state.audio else None,
    )


def _statements(state: State, program: ast.Program) -> None:
    for stmt in program.statements:
        if state.errors >= MAX_ERRORS:
            return  # reported once, by `check`
        try:
            _statement(state, stmt)
        except Abort:
            if isinstance(stmt, ast.Assign):
                state.bindings.pop(stmt.name.id, None)
                state.failed_names.add(stmt.name.id)  # its uses report nothing more


def _statement(state: State, stmt: ast.Stmt) -> None:
    if isinstance(stmt, ast.Setting):
        _setting(state, stmt)
    elif isinstance(stmt, ast.Assign):
        _bindable(state, stmt.name)
        state.bindings[stmt.name.id] = evaluate(state, stmt.value, latent_ok=True)
        state.failed_names.discard(stmt.name.id)
    elif isinstance(stmt, ast.Param):
        _param(state, stmt)
    elif isinstance(stmt, ast.Include):
        _include(state, stmt)
    elif isinstance(stmt, ast.Output):
        _output(state, stmt)


def _bindable(state: State, name: ast.Name) -> None:
    if name.id in RESERVED or "." in name.id:
        kind = (
            "a setting"
            if name.id in SETTINGS
            else "an op"
            if name.id in SIGNATURES
            else "a signal"
            if name.id in SIGNALS
            else "not a name (a dot belongs to signals like midi.cc)"
            if "." in name.id
            else "reserved"
        )
        raise state.error(name.span, f"'{name.id}' is {kind}; choose another name")


def _setting(state: State, stmt: ast.Setting) -> None:
    arg = SETTINGS[stmt.name]
    state.setting_spans[stmt.name] = stmt.value.span
    value = check_value(
        state, arg, evaluate(state, stmt.value, arg.types), stmt.value.span, f"'{stmt.name}'"
    )
    if stmt.name == "model":
        assert isinstance(value, Const)  # a model is a name or a path
        _model(state, value, stmt.value.span)
    elif stmt.name == "size":
        assert isinstance(value, Const)  # a size is WxH or a number
        state.settings[stmt.name] = check_size(state, value, stmt.value.span)
    else:
        state.settings[stmt.name] = _plain(value)


def _model(state: State, value: Const, span) -> None:
    builtin = value.type == T.SYMBOL
    # Until this model resolves, ops that need a model stop quietly (no cascade of errors).
    state.model_ref, state.model_failed = None, True
    if not builtin:
        elsewhere = (
            " (a model kept elsewhere: put its folder on GENCODE_MODELS, "
            f"then write model {Path(str(value.value)).stem})"
        )
        confined_path(state, str(value.value), span, hint=elsewhere)
    try:
        state.model_ref = state.catalog.resolve(str(value.value), state.root_dir, builtin=builtin)
        state.model_failed = False
    except KeyError:
        hint = did_you_mean(str(value.value), state.catalog.names())
        raise state.error(
            span,
            f"unknown model '{value.value}'{hint} (known: {', '.join(state.catalog.names())}; "
            "or give a checkpoint path in quotes, or put it in a folder on GENCODE_MODELS)",
        ) from None
    except CheckpointError as e:
        raise state.error(span, str(e)) from None
    state.model_span = span
    w, h = state.setting("size")
    check_size(state, Const(T.SIZE, (w, h)), span, quiet=True)


def _param(state: State, stmt: ast.Param) -> None:
    _bindable(state, stmt.name)
    default = evaluate(state, stmt.default)
    if not (isinstance(default, Const) and default.type in (T.NUMBER, T.STRING)):
        raise state.error(stmt.default.span, "a param's default is a number or a string")
    value = default
    raw = state.overrides.get(stmt.name.id)
    if raw is not None:
        value = _override(state, stmt, default, raw)
    state.params[stmt.name.id] = value.value
    state.bindings[stmt.name.id] = value


def _override(state: State, stmt: ast.Param, default: Const, raw: str) -> Const:
    if default.type == T.STRING:
        return Const(T.STRING, raw, stmt.span)
    try:
        return Const(T.NUMBER, number_text(raw), stmt.span)
    except ValueError:
        # Reported, but the param keeps its default so later lines check without cascading.
        state.error(
            stmt.name.span,
            f"--set {stmt.name.id}={raw}: '{stmt.name.id}' is a number (default {default.value:g})",
        )
        return default


def number_text(raw: str) -> float | int:
    """A number given on the command line: an int when it is one (a seed keeps every digit), a
    finite float otherwise; ValueError for anything else, `nan` and `inf` included."""
    text = raw.strip()
    if text.lstrip("+-").isdigit():
        return int(text)
    x = float(text)
    if not math.isfinite(x):
        raise ValueError(raw)
    return x


def _include(state: State, stmt: ast.Include) -> None:
    here = (
        Path(stmt.span.file).resolve().parent
        if stmt.span.file in state.files[1:]
        else state.root_dir
    )
    path = confined_path(state, stmt.path.value, stmt.path.span, here)
    main = (state.root_dir / Path(state.files[0]).name).resolve()
    if path in state.include_stack or path == main:
        raise state.error(
            stmt.path.span,
            f"include cycle: '{stmt.path.value}' includes itself (through {' → '.join(p.name for p in state.include_stack) or 'this file'})",
        )
    program = _included(state, path, stmt)
    state.include_stack.append(path)
    try:
        _statements(state, program)
    finally:
        state.include_stack.pop()


def _included(state: State, path: Path, stmt: ast.Include) -> ast.Program:
    """The parsed file, read and parsed once per check however often it is included (an
    include bomb re-expands a few small files); depth, count and expanded size are bounded."""
    span = stmt.path.span
    if len(state.include_stack) >= MAX_INCLUDE_DEPTH:
        raise state.error(span, f"includes nest more than {MAX_INCLUDE_DEPTH} files deep")
    state.include_count += 1
    if state.include_count > MAX_INCLUDES:
        raise state.error(span, f"more than {MAX_INCLUDES} includes in one script")
    name = str(path)
    if path not in state.included:
        try:
            text = read_text(path, MAX_SCRIPT_BYTES, "included file")
        except FileProblem as e:
            if e.missing:
                raise state.error(span, f"no such file to include: '{stmt.path.value}'") from None
            raise state.error(span, f"can't include '{stmt.path.value}': {e.why}") from None
        state.sources[name] = text
        state.files.append(name)
        try:
            state.included[path] = parse(text, name)
        except GenError as e:
            state.diagnostics.extend(e.diagnostics)
            state.errors += len(e.errors)
            state.included[path] = ast.Program(())
            raise Abort() from None
    state.expanded_bytes += len(state.sources[name])
    if state.expanded_bytes > MAX_EXPANDED_BYTES:
        raise state.error(span, f"includes expand to more than {MAX_EXPANDED_BYTES:,} bytes")
    return state.included[path]


def _output(state: State, stmt: ast.Output) -> None:
    if isinstance(stmt.value, ast.Call) and stmt.value.name.id == "save":
        save_statement(state, stmt.value)
        return
    if isinstance(stmt.value, ast.Call) and stmt.value.name.id == "audio":
        from gencode.check.signals import audio_track

        audio_track(state, stmt.value)
        return
    value = evaluate(state, stmt.value, latent_ok=False)
    if stmt.alias is not None:
        _bindable(state, stmt.alias)
        state.bindings[stmt.alias.id] = value
    image = renderable(state, value, stmt.value.span)
    name = stmt.alias.id if stmt.alias else binding_name(stmt.value)
    state.outputs.append(CheckedOutput(image, name, None, float(state.setting("fps")), stmt.span))
