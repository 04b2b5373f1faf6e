"""The `animate` rule: a feedback animation compiled into a chain of small, cached nodes.

Frame 0 is diffused from text (or from an init image). Every `cadence`-th frame after it is made
from the last diffused frame: warped by the camera move accumulated since, colour-matched to
frame 0, contrast/sharpen adjusted, noised, then re-diffused (img2img) at the frame's strength,
prompt and seed. Frames in between are both neighbouring diffused frames warped to that frame's
position and blended by position. Frame i's nodes depend only on frame i-1's chain and frame i's
own values, so editing a late keyframe re-renders only the frames from it onward.
"""

from __future__ import annotations

from typing import Any

from gencode import ast
from gencode import types as T
from gencode.camera import camera_matrix, compose, invert
from gencode.check.calls import number_text
from gencode.check.exprs import Typed, noise
from gencode.check.frame_expr import FrameExpr, FrameExprError
from gencode.check.rules import (
    _need_family,
    _plain,
    negative_span,
    prompt_value,
    sampler_params,
)
from gencode.check.signals import offline_signals
from gencode.check.state import State
from gencode.graph import Node
from gencode.ir import Const, Sched
from gencode.models.catalog import ModelRef
from gencode.ops.table import SIGNATURES
from gencode.seeds import seed_sequence

# The numbers of one feedback step that may vary per frame (a number, a schedule or a frame
# expression); the endless animate of a live set reads the same ones, plus its seed.
FRAME_NUMBERS = (
    "zoom",
    "rotate",
    "pan_x",
    "pan_y",
    "strength",
    "noise",
    "contrast",
    "sharpen",
    "guidance",
)

Matrix = list[list[float]]


def series(state: State, name: str, v: Typed | Any, n: int, span) -> list[float]:
    """A numeric argument's value at each of n frames, range-checked against its signature."""
    arg = SIGNATURES["animate"].keyword(name)
    assert arg is not None
    values = []
    for f in range(n):
        try:
            if isinstance(v, FrameExpr):
                x = float(v.at(f, offline_signals(state, v, f)))
            else:
                x = float(v.at(f)) if isinstance(v, Sched) else float(_plain(v))
        except FrameExprError as e:
            raise state.error(getattr(v, "span", span), f"'{name}': {e}") from None
        if (arg.lo is not None and x < arg.lo) or (arg.hi is not None and x > arg.hi):
            raise state.error(
                getattr(v, "span", span) or span,
                f"'{name}' is {number_text(x, arg.integer)} at frame {f}; it must be between "
                f"{number_text(arg.lo, arg.integer)} and {number_text(arg.hi, arg.integer)}",
            )
        values.append(x)
    return values


def frame_seeds(state: State, a: dict, n: int, span) -> list[int]:
    """Per-frame seeds: a seed schedule when given, else the seed behaviour from the base seed."""
    seed = a["seed"]
    if isinstance(seed, Sched | FrameExpr):
        return [int(round(x)) for x in series(state, "seed", seed, n, span)]
    mode, every = str(_plain(a["seed_mode"])), int(_plain(a["seed_every"]))
    return seed_sequence(mode, int(_plain(seed)), n, every)


def cond_at(state: State, model: ModelRef, prompt: Typed | Any, f: int, span) -> Node:
    """The conditioning of frame f: one prompt, or a cross-fade of two scheduled prompts."""
    if not isinstance(prompt, Sched):
        return prompt_value(state, model, str(_plain(prompt)), span)
    at = prompt.at(f)
    if isinstance(at, str):
        return prompt_value(state, model, at, span)
    a, b, w = at
    texts = sorted({a, b})
    weights = [round(1 - w, 6) if t == a else round(w, 6) for t in texts]
    inputs = tuple(prompt_value(state, model, t, span) for t in texts)
    return Node("mix", T.COND, {"texts": texts, "weights": [weights]}, inputs, None, span)


def check_animate(state: State, a: dict, e: ast.Call) -> Node:
    if a["frames"] is None:
        from gencode.check.endless import endless_animate

        return endless_animate(state, a, e)
    model = _need_family(state, e, "diffusion")
    n = int(_plain(a["frames"]))
    w, h = state.setting("size")
    p = {k: series(state, k, a[k], n, e.span) for k in FRAME_NUMBERS}
    seeds = frame_seeds(state, a, n, e.span)
    moves = [
        camera_matrix(p["zoom"][f], p["rotate"][f], p["pan_x"][f], p["pan_y"][f], w, h)
        for f in range(n)
    ]
    base = {
        "model": model,
        "steps": int(_plain(a["steps"])),
        **sampler_params(state, str(_plain(a["sampler"])), a["eta"], e.span),
    }
    uncond = prompt_value(state, model, str(_plain(a["negative"])), negative_span(state, a, e))

    def diffused(f: int, start: Node, img2img: bool) -> Node:
        params = {
            **base,
            "guidance": p["guidance"][f],
            "seed": seeds[f],
            "mode": "img2img" if img2img else "txt2img",
        }
        if img2img:
            params["strength"] = p["strength"][f]
        cond = cond_at(state, model, a["prompt"], f, e.span)
        return Node("diffuse", T.IMAGE, params, (start, cond, uncond), None, e.span)

    init = a["from"]
    first = (
        diffused(0, init, True)
        if init is not None
        else diffused(0, noise(state, seeds[0], e.span), False)
    )
    frames: list[Node] = [first]
    keys = sorted(set(range(0, n, int(_plain(a["cadence"])))) | {n - 1})
    border = str(_plain(a["border"]))
    for k0, k1 in zip(keys, keys[1:], strict=False):
        acc = _accumulate(moves, k0, k1)  # acc[j - k0 - 1]: the move from frame k0 to frame j
        start = _prepare(a, p, seeds, frames[k0], first, acc[-1], k1, border, e.span)
        last = diffused(k1, start, True)
        for j in range(k0 + 1, k1):
            forward = _warp(frames[k0], acc[j - k0 - 1], border, e.span)
            back = _warp(last, invert(compose(acc[-1], invert(acc[j - k0 - 1]))), border, e.span)
            amount = round((j - k0) / (k1 - k0), 6)
            frames.append(Node("blend", T.IMAGE, {"amount": amount}, (forward, back), None, e.span))
        frames.append(last)
    return Node("stack", T.IMAGES, {}, tuple(frames), n, e.span)


def _accumulate(moves: list[Matrix], k0: int, k1: int) -> list[Matrix]:
    """The camera moves composed from frame k0 to each frame j in (k0, k1]."""
    acc, m = [], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    for j in range(k0 + 1, k1 + 1):
        m = compose(moves[j], m)
        acc.append(m)
    return acc


def _warp(image: Node, matrix: Matrix, border: str, span) -> Node:
    rounded = [[round(x, 6) for x in row] for row in matrix]
    return Node("warp", T.IMAGE, {"matrix": rounded, "border": border}, (image,), None, span)


def _prepare(
    a: dict,
    p: dict,
    seeds: list[int],
    prev: Node,
    first: Node,
    move: Matrix,
    f: int,
    border: str,
    span,
) -> Node:
    """The previous diffused frame made ready for img2img: warp, colour, contrast, noise."""
    x = _warp(prev, move, border, span)
    coherence = str(_plain(a["coherence"]))
    if coherence != "none":
        x = Node("colormatch", T.IMAGE, {"space": coherence}, (x, first), None, span)
    if p["contrast"][f] != 1.0 or p["sharpen"][f] != 0.0:
        x = Node(
            "adjust",
            T.IMAGE,
            {"contrast": p["contrast"][f], "sharpen": p["sharpen"][f]},
            (x,),
            None,
            span,
        )
    if p["noise"][f] > 0:
        x = Node("addnoise", T.IMAGE, {"amount": p["noise"][f], "seed": seeds[f]}, (x,), None, span)
    return x


__all__ = ["Const"]
