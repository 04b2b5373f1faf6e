"""Expressions: evaluate an AST expression to a typed constant or value, folding numbers."""

from __future__ import annotations

import math

from gencode import ast
from gencode import types as T
from gencode.check.frame_expr import MATH, SIGNAL, VARIABLES, FrameExpr, as_tree
from gencode.check.state import Abort, State, derive_seed
from gencode.errors import did_you_mean
from gencode.graph import Node
from gencode.ir import Const, Sched
from gencode.ops.table import SIGNATURES
from gencode.settings import SETTINGS
from gencode.signals.names import is_signal_word

Typed = Const | Node | Sched | FrameExpr
LOOP = "loop"  # `{0: "dunes", 8b: "ocean", loop: 16b}`: a schedule that repeats


def type_of(v: Typed) -> str:
    if isinstance(v, FrameExpr):
        return T.SCHEDULE
    if isinstance(v, Sched):
        return T.PROMPT_SCHEDULE if isinstance(v.keyframes[0][1], str) else T.SCHEDULE
    return v.type


def evaluate(
    state: State, e: ast.Expr, expect: tuple[str, ...] = (), latent_ok: bool = False
) -> Typed:
    """The typed value of `e`; `expect` lets bare words be symbols and unbound names be latents."""
    if isinstance(e, ast.Number):
        return finite(state, e.value, e)
    if isinstance(e, ast.String):
        return Const(T.STRING, e.value, e.span)
    if isinstance(e, ast.Size):
        return Const(T.SIZE, (e.width, e.height), e.span)
    if isinstance(e, ast.Range):
        return Const(T.RANGE, (e.start, e.stop), e.span)
    if isinstance(e, ast.Beats):
        return Const(T.NUMBER, beats_to_frames(state, e.value), e.span)
    if isinstance(e, ast.Tuple):
        raise state.error(e.span, "a tuple like (a, b) only goes after a math function: max(a, b)")
    if isinstance(e, ast.List):
        return Const(T.LIST, tuple(evaluate(state, x) for x in e.items), e.span)
    if isinstance(e, ast.Schedule):
        return schedule(state, e)
    if isinstance(e, ast.Name | ast.Call) and _is_signal(state, e):
        from gencode.check.signals import signal

        return signal(state, e)
    if isinstance(e, ast.Name):
        return name(state, e, expect, latent_ok)
    if isinstance(e, ast.Neg):
        return arithmetic(
            state, "*", Const(T.NUMBER, -1.0), evaluate(state, e.operand, latent_ok=True), e
        )
    if isinstance(e, ast.BinOp):
        left = evaluate(state, e.left, latent_ok=True)
        right = evaluate(state, e.right, latent_ok=True)
        return arithmetic(state, e.op, left, right, e)
    if isinstance(e, ast.Call):
        if e.name.id in MATH and e.name.id not in state.bindings:
            return math_call(state, e)
        if e.name.id == SIGNAL and e.name.id not in state.bindings:
            return signal_call(state, e)
        from gencode.check.calls import call

        return call(state, e)
    raise state.error(getattr(e, "span", None), "unsupported expression")


def finite(state: State, x: float | int, e: ast.Node) -> Const:
    """A number constant; infinities and NaN (`1e999`, `1e999 - 1e999`) are refused here, so no
    later range check ever compares against NaN (every comparison with NaN is false)."""
    if isinstance(x, int) and abs(x) > 2**64:
        x = float(x) if abs(x) < 2**1023 else math.inf  # past every seed: plain float arithmetic
    if isinstance(x, float) and not math.isfinite(x):
        raise state.error(e.span, "this number is too large" if x == x else "this is not a number")
    return Const(T.NUMBER, x, e.span)


def _is_signal(state: State, e: ast.Name | ast.Call) -> bool:
    word = e.id if isinstance(e, ast.Name) else e.name.id
    return is_signal_word(word) and word not in state.bindings


def beats_to_frames(state: State, beats: float) -> float:
    """A time in beats as a frame number, with the fps and bpm in force."""
    return round(beats * 60.0 * float(state.setting("fps")) / float(state.setting("bpm")), 6)


def frame_variable(state: State, e: ast.Name) -> FrameExpr:
    fps, bpm = float(state.setting("fps")), float(state.setting("bpm"))
    return FrameExpr(("var", e.id), fps, bpm, e.span)


def math_call(state: State, e: ast.Call) -> Typed:
    """`sin(x)`, `max(a, b)`...: folded for numbers, a frame expression when `t` or `beat` is in."""
    arity, fn = MATH[e.name.id]
    words = e.words[0].items if len(e.words) == 1 and isinstance(e.words[0], ast.Tuple) else e.words
    if len(words) != arity:
        raise state.error(
            e.span, f"'{e.name.id}' takes {arity} value{'s' if arity > 1 else ''}, got {len(words)}"
        )
    args = [evaluate(state, w) for w in words]
    for a, w in zip(args, words, strict=True):
        if not (isinstance(a, FrameExpr) or (isinstance(a, Const) and a.type == T.NUMBER)):
            raise state.error(w.span, f"'{e.name.id}' takes numbers, got {T.words([type_of(a)])}")
    trees = tuple(as_tree(a) for a in args)
    frame_exprs = [a for a in args if isinstance(a, FrameExpr)]
    if not frame_exprs:
        try:
            return finite(state, float(fn(*[tree[1] for tree in trees])), e)
        except (ArithmeticError, ValueError) as err:
            raise state.error(e.span, f"'{e.name.id}' fails here ({err})") from None
    fe = frame_exprs[0]
    return FrameExpr(("fn", e.name.id, trees), fe.fps, fe.bpm, e.span)


def signal_call(state: State, e: ast.Call) -> FrameExpr:
    """`signal("midi.cc.1")` or `signal("osc./x", 0.5)`: a live input's value (its default, 0
    unless given, when nothing sends it — and in offline renders)."""
    words = e.words[0].items if len(e.words) == 1 and isinstance(e.words[0], ast.Tuple) else e.words
    usage = 'signal("name") or signal("name", default)'
    if not 1 <= len(words) <= 2 or not isinstance(words[0], ast.String) or not words[0].value:
        raise state.error(e.span, f"write {usage}")
    default = evaluate(state, words[1]) if len(words) == 2 else Const(T.NUMBER, 0.0)
    if not (isinstance(default, Const) and default.type == T.NUMBER):
        raise state.error(words[1].span, f"a signal's default is a number: {usage}")
    fps, bpm = float(state.setting("fps")), float(state.setting("bpm"))
    return FrameExpr(("sig", words[0].value, float(default.value)), fps, bpm, e.span)


def name(state: State, e: ast.Name, expect: tuple[str, ...], latent_ok: bool) -> Typed:
    if e.id in VARIABLES:
        return frame_variable(state, e)
    if e.id == "pi":
        return Const(T.NUMBER, math.pi, e.span)
    if T.SYMBOL in expect and e.id not in state.bindings:
        return Const(T.SYMBOL, e.id, e.span)
    if e.id in state.bindings:
        return state.bindings[e.id]
    if e.id in state.failed_names:
        raise Abort()  # its binding's error is reported; a follow-on error would only confuse
    if e.id in SIGNATURES:
        from gencode.check.calls import call

        return call(state, ast.Call(e, (), span=e.span))
    if latent_ok or T.LATENT in expect:
        return implicit_latent(state, e)
    if e.id in SETTINGS:
        raise state.error(e.span, f"'{e.id}' is a setting, not a value; bind a name with 'x = ...'")
    hint = did_you_mean(e.id, list(state.bindings) + list(SIGNATURES))
    if not hint and T.NUMBER in expect:
        hint = f": {T.words(list(expect))} is expected here"
    raise state.error(e.span, f"unknown name '{e.id}'{hint}")


def implicit_latent(state: State, e: ast.Name) -> Node:
    """Fresh noise named by `e` under the current seed: `a` and `b` differ, and stay put."""
    seed = int(state.setting("seed"))
    value = noise(state, derive_seed(seed, e.id), e.span)
    # A typo hint, when a bound name is close; skipped for huge generated scripts (it is O(names)).
    close = did_you_mean(e.id, list(state.bindings)) if len(state.bindings) <= 64 else ""
    hint = f" (or a typo{close.replace(' — ', ': ')})" if close else ""
    state.note(
        e.span,
        f"'{e.id}' is an implicit latent: noise from seed {seed} and the name '{e.id}'{hint}",
    )
    return value


def noise(state: State, seed: int, span) -> Node:
    w, h = state.setting("size")
    shape = state.model(span).latent_shape(w, h)
    return Node("noise", T.LATENT, {"seed": seed, "shape": shape}, (), None, span)


def as_latent(state: State, v: Typed, span) -> Node:
    """A latent operand: a latent value, or a number meaning noise from that seed."""
    if isinstance(v, Const) and v.type == T.NUMBER and v.value >= 0 and float(v.value).is_integer():
        return noise(state, int(v.value), span)
    if isinstance(v, Node) and v.type in (T.LATENT, T.LATENTS):
        return v
    raise state.error(span, f"expected a latent or a seed number, got {T.words([type_of(v)])}")


def schedule(state: State, e: ast.Schedule) -> Sched:
    if not e.keyframes:
        raise state.error(e.span, "a schedule needs at least one keyframe, like {0: 3}")
    keys, period = [], None
    for kf in e.keyframes:
        if isinstance(kf.at, ast.Name) and kf.at.id == LOOP and LOOP not in state.bindings:
            period = _period(state, kf, period)
            continue
        at, value = evaluate(state, kf.at), evaluate(state, kf.value)
        if not (isinstance(at, Const) and at.type == T.NUMBER and at.value >= 0):
            raise state.error(kf.at.span, "a keyframe is a frame number (0 or more)")
        if not (isinstance(value, Const) and value.type in (T.NUMBER, T.STRING)):
            raise state.error(kf.value.span, "a keyframe's value is a number or a prompt string")
        x = value.value if isinstance(value.value, str) else float(value.value)
        keys.append((float(at.value), x, kf))
    kinds = {type(v) for _, v, _ in keys}
    if len(kinds) > 1:
        raise state.error(e.span, "a schedule's values are all numbers or all prompt strings")
    keys.sort(key=lambda k: k[0])
    for (a, _, _), (b, _, kf) in zip(keys, keys[1:], strict=False):
        if a == b:
            raise state.error(kf.at.span, f"frame {a:g} has two keyframes")
    if not keys:
        raise state.error(e.span, "a schedule needs at least one keyframe, like {0: 3}")
    if period is not None and keys[-1][0] >= period:
        raise state.error(
            keys[-1][2].at.span,
            f"a keyframe at {keys[-1][0]:g} is past the loop's end ({period:g})",
        )
    return Sched(tuple((f, v) for f, v, _ in keys), period)


def _period(state: State, kf: ast.Keyframe, seen: float | None) -> float:
    """`loop: 16b` in a schedule: it repeats every 16 beats (a count of frames or beats)."""
    if seen is not None:
        raise state.error(kf.at.span, "a schedule has one 'loop'")
    length = evaluate(state, kf.value)
    if not (isinstance(length, Const) and length.type == T.NUMBER and length.value > 0):
        raise state.error(kf.value.span, "'loop' takes a length in frames or beats, like loop: 16b")
    return float(length.value)


def arithmetic(state: State, op: str, a: Typed, b: Typed, e: ast.Node) -> Typed:
    """Numbers fold; latents add, subtract and scale (`a + 0.5 * (b - c)`)."""
    if isinstance(a, FrameExpr) or isinstance(b, FrameExpr):
        return frame_arithmetic(state, op, a, b, e)
    ta, tb = type_of(a), type_of(b)
    if ta == tb == T.NUMBER:
        assert isinstance(a, Const) and isinstance(b, Const)  # numbers are always constants
        x, y = a.value, b.value
        if op == "/" and y == 0:
            raise state.error(e.span, "division by zero")
        result = {"+": x + y, "-": x - y, "*": x * y, "/": x / y if y else 0.0}[op]
        return finite(state, result, e)
    a = as_latent(state, a, e.span) if ta == T.NUMBER and op in "+-" else a
    b = as_latent(state, b, e.span) if tb == T.NUMBER and op in "+-" else b
    ta, tb = type_of(a), type_of(b)
    latents = (T.LATENT, T.LATENTS)
    if op in "+-" and ta in latents and tb in latents:
        assert isinstance(a, Node) and isinstance(b, Node)  # latents are always computed
        length = _joint_length(state, a, b, e)
        out = T.LATENTS if length else T.LATENT
        return Node("add" if op == "+" else "sub", out, {}, (a, b), length, e.span)
    if op == "*" and T.NUMBER in (ta, tb) and ({ta, tb} - {T.NUMBER}) <= set(latents):
        k, z = (a, b) if ta == T.NUMBER else (b, a)
        assert isinstance(k, Const) and isinstance(z, Node)
        return Node("scale", z.type, {"factor": float(k.value)}, (z,), z.length, e.span)
    if op == "/" and ta in latents and tb == T.NUMBER:
        assert isinstance(a, Node) and isinstance(b, Const)
        if b.value == 0:
            raise state.error(e.span, "division by zero")
        return Node("scale", a.type, {"factor": 1.0 / float(b.value)}, (a,), a.length, e.span)
    hint = " (use blend for images)" if T.IMAGE in (ta, tb) else ""
    if T.STRING in (ta, tb):
        hint = (
            ' (write one prompt as one string, "dunes at dusk"; '
            'to cross-fade two prompts, interpolate prompt "a" "b" 24)'
        )
    raise state.error(e.span, f"can't apply '{op}' to {T.words([ta])} and {T.words([tb])}{hint}")


def frame_arithmetic(state: State, op: str, a: Typed, b: Typed, e: ast.Node) -> FrameExpr:
    """`1 + 0.02 * sin(t)`: arithmetic between numbers and frame expressions."""
    for v in (a, b):
        if not (isinstance(v, FrameExpr) or (isinstance(v, Const) and v.type == T.NUMBER)):
            raise state.error(
                e.span, f"can't apply '{op}' to {T.words([type_of(v)])} and a frame expression"
            )
    fe = a if isinstance(a, FrameExpr) else b
    assert isinstance(fe, FrameExpr)
    return FrameExpr(("bin", op, as_tree(a), as_tree(b)), fe.fps, fe.bpm, e.span)


def _joint_length(state: State, a: Node, b: Node, e: ast.Node) -> int | None:
    if a.length and b.length and a.length != b.length:
        raise state.error(e.span, f"sequences of different lengths ({a.length} and {b.length})")
    return a.length or b.length


__all__ = ["evaluate", "type_of", "as_latent", "noise", "Abort"]
