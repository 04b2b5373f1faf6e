"""Endless generators: `animate` without a frame count, and `wander`. Checked once per save.

Input: an op's checked arguments. Output: one frame's value, with every per-frame number kept as a
schedule or a frame expression of `t`; `compile_program(..., frame=t)` evaluates them at the
stream's frame. The feedback loop's previous picture (and the colour anchor) are `picture`
leaves that the live stepper fills with the frame on screen.
"""

from __future__ import annotations

from gencode import ast
from gencode import types as T
from gencode.check.animate import FRAME_NUMBERS
from gencode.check.exprs import noise
from gencode.check.frame_expr import FrameExpr
from gencode.check.rules import (
    _need_family,
    _plain,
    conditioning,
    prompt_value,
    sampler_params,
)
from gencode.check.state import State
from gencode.graph import Node
from gencode.ir import Sched

STEP_NUMBERS = (*FRAME_NUMBERS, "seed")  # each a number, a schedule or a frame expression
STEP_WORDS = ("seed_mode", "seed_every", "cadence", "coherence", "border", "sampler")


def frame_number(state: State, span) -> FrameExpr:
    """`t`, the stream's frame, as a frame expression."""
    fps, bpm = float(state.setting("fps")), float(state.setting("bpm"))
    return FrameExpr(("var", "t"), fps, bpm, span)


def picture(state: State, slot: str, span) -> Node:
    """The picture on screen before this frame (`previous`), or when the program began (`anchor`)."""
    w, h = state.setting("size")
    return Node("picture", T.IMAGE, {"slot": slot, "size": [int(w), int(h)]}, (), None, span)


def endless_animate(state: State, a: dict, e: ast.Call) -> Node:
    """One step of an endless feedback animation: the picture on screen, moved and re-diffused."""
    model = _need_family(state, e, "diffusion")
    if a["from"] is not None:
        raise state.error(
            e.span, "an endless animate starts from the picture on screen; 'from' needs a count"
        )
    params: dict = {k: _plain(a[k]) for k in STEP_NUMBERS + STEP_WORDS}
    if isinstance(params["seed"], Sched | FrameExpr):
        params["seed_mode"] = "fixed"  # a seed schedule gives each frame's seed itself
    params.update(
        model=model,
        steps=int(_plain(a["steps"])),
        shape=noise(state, 0, e.span).params["shape"],
        frame=frame_number(state, e.span),
    )
    params.update(sampler_params(state, str(params["sampler"]), a["eta"], e.span))
    _note_endless(state, e)
    cond = conditioning(state, model, a["prompt"], None, e.span)
    uncond = prompt_value(state, model, str(_plain(a["negative"])), e.span)
    inputs = (picture(state, "previous", e.span), picture(state, "anchor", e.span), cond, uncond)
    return Node("feedback", T.IMAGE, params, inputs, None, e.span)


def check_wander(state: State, a: dict, e: ast.Call) -> Node:
    """The latent at frame t of a smooth walk through seeded noises, one every `every` frames."""
    _note_endless(state, e)
    shape = noise(state, 0, e.span).params["shape"]
    params = {
        "seed": int(_plain(a["seed"])),
        "every": float(_plain(a["every"])),
        "shape": shape,
        "at": frame_number(state, e.span),
    }
    return Node("wander", T.LATENT, params, (), None, e.span)


def _note_endless(state: State, e: ast.Call) -> None:
    state.note(
        e.span,
        f"'{e.name.id}' here is endless: `gencode live` streams it; `gencode render` writes its "
        "first frame, or N frames with --frames N (or --seconds S)",
    )
