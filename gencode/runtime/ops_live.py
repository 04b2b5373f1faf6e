"""Ops of the live stream, one frame each: `picture`, `feedback` and `wander`.

Input: a frame's params (numbers already taken at the stream's frame by compile) and its inputs:
`feedback` takes (previous picture, anchor picture, cond, uncond); `picture` and `wander` none.
Output: an image (3, H, W) in [0, 1] (`wander`: a latent). `feedback` runs the same ops as an
offline `animate` (warp, colormatch, adjust, addnoise, diffuse), so a stream and a render agree.
"""

from __future__ import annotations

import math

import torch

from gencode import types as T
from gencode.camera import camera_matrix
from gencode.graph import Node
from gencode.ops.signatures import ANIMATE
from gencode.runtime.ops_diffuse import diffuse
from gencode.runtime.ops_gen import slerp_coefficients
from gencode.runtime.ops_image import OpError
from gencode.runtime.registry import OpContext, implementation
from gencode.seeds import seed_at

CAMERA = ("zoom", "rotate", "pan_x", "pan_y")


def picture(ctx: OpContext, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
    """A picture the stream supplies; none yet (the stream's first frame) is black."""
    if node.params.get("of") is not None:
        raise OpError(f"the stream's picture {str(node.params['of'])[:12]} is not available")
    w, h = (int(s) for s in node.params["size"])
    return torch.zeros(3, h, w, device=ctx.device)  # (3, H, W)


def wander(ctx: OpContext, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
    """The latent at frame `at`: a slerp between seeded noises placed every `every` frames."""
    at, every = float(node.params["at"]), float(node.params["every"])
    k = math.floor(at / every)
    w = at / every - k
    w = w * w * (3 - 2 * w)  # smoothstep: the walk slows into each noise, no kink at the knots
    shape = [int(s) for s in node.params["shape"]]
    seed = int(node.params["seed"])
    a, b = (
        torch.randn(shape, generator=ctx.generator(_knot_seed(seed, k + i))) for i in (0, 1)
    )  # drawn on the CPU
    ca, cb = slerp_coefficients(a, b, torch.tensor(w, dtype=torch.float64))
    return (ca * a.double() + cb * b.double()).float().to(ctx.device)


def _knot_seed(seed: int, k: int) -> int:
    return (int(seed) * 1_000_003 + k) % (2**63)


def feedback(ctx: OpContext, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
    """One frame of a feedback animation from the picture before it (frame 0: from text)."""
    previous, anchor, cond, uncond = inputs
    p = node.params
    _check_ranges(p)
    f = int(round(float(p["frame"])))
    seed = frame_seed(p, f)
    fresh = node.inputs[0].params.get("of") is None
    if fresh:
        z = torch.randn([int(s) for s in p["shape"]], generator=ctx.generator(seed))
        return _diffuse(ctx, p, seed, "txt2img", z.to(ctx.device), cond, uncond)
    w, h = previous.shape[-1], previous.shape[-2]
    zoom, angle, tx, ty = (float(p[k]) for k in CAMERA)
    move = camera_matrix(zoom, angle, tx, ty, int(w), int(h))
    x = _op(
        ctx,
        "warp",
        {"matrix": [[round(v, 6) for v in r] for r in move], "border": p["border"]},
        previous,
    )
    if f % int(p["cadence"]):
        return x  # between diffused frames the picture only moves
    if p["coherence"] != "none" and node.inputs[1].params.get("of") is not None:
        x = _op(ctx, "colormatch", {"space": p["coherence"]}, x, anchor)
    if float(p["contrast"]) != 1.0 or float(p["sharpen"]) != 0.0:
        x = _op(ctx, "adjust", {"contrast": p["contrast"], "sharpen": p["sharpen"]}, x)
    if float(p["noise"]) > 0:
        x = _op(ctx, "addnoise", {"amount": p["noise"], "seed": seed}, x)
    ctx.check_cancelled()  # a live swap stops the frame here rather than after the encode
    return _diffuse(ctx, p, seed, "img2img", x, cond, uncond)


def frame_seed(p: dict, f: int) -> int:
    """Frame f's seed under the seed behaviour (as `animate` gives it)."""
    seed = int(round(float(p["seed"])))
    return seed_at(str(p["seed_mode"]), seed, f, int(p["seed_every"]))


def _check_ranges(p: dict) -> None:
    """A frame expression may leave its range at some frame: say which, and where."""
    sig = ANIMATE
    for name in ("zoom", "rotate", "pan_x", "pan_y", "strength", "noise", "contrast", "sharpen"):
        arg, x = sig.keyword(name), float(p[name])
        assert arg is not None and arg.lo is not None and arg.hi is not None
        if not arg.lo <= x <= arg.hi:
            raise OpError(
                f"'{name}' is {x:g} at frame {float(p['frame']):g}; "
                f"it must be between {arg.lo:g} and {arg.hi:g}"
            )


def _op(ctx: OpContext, op: str, params: dict, *xs: torch.Tensor) -> torch.Tensor:
    """One of the motion ops on single images, called as the executor would."""
    leaves = tuple(Node(op, T.IMAGE, {}) for _ in xs)
    impl = implementation(op)
    assert impl is not None, op
    return impl(ctx, Node(op, T.IMAGE, params, leaves), list(xs))


def _diffuse(ctx, p: dict, seed: int, mode: str, start, cond, uncond) -> torch.Tensor:
    params = {k: p[k] for k in ("model", "steps", "sampler", "eta", "guidance") if k in p} | {
        "seed": seed,
        "mode": mode,
    }
    if mode == "img2img":
        params["strength"] = p["strength"]
    leaves = tuple(Node("picture", T.IMAGE, {}) for _ in range(3))
    node = Node("diffuse", T.IMAGE, params, leaves)
    return diffuse(ctx, node, [start, cond, uncond])
