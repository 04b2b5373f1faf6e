"""The op table: every op of gencode, one `OpDef` each, in one explicit dict. Torch-free.

An op's facts live here and nowhere else: its signature (what a script may write), its check
rule, its shape rule, which params vary frame by frame (so a sequence is cached per frame),
whether it draws noise by frame number, whether it is too cheap to cache on disk, which files it
reads, whether it describes an image in a record, and its implementation. Rules and
implementations are named by reference ("module:function"), so the table imports neither the
checker nor torch; `tests/test_op_table.py` resolves every reference and checks every op has
every part.

A new image op is one entry here, its implementation, and its docs (docs/language.md).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from gencode.ops import shapes as S
from gencode.ops import signatures as sig
from gencode.ops.signatures import OpSignature

CHECK = "gencode.check."
RUN = "gencode.runtime."


@dataclass(frozen=True)
class OpDef:
    """Everything about one op."""

    name: str
    doc: str
    shape: S.ShapeRule  # the shape of one frame of its value
    impl: str | None  # "module:function" computing it; None: the op expands into others
    signature: OpSignature | None = None  # None: internal (made by check, never written)
    rule: str | None = None  # "module:function" checking a call into a typed value
    framewise: tuple[str, ...] | None = None  # frame f needs only frame f of its inputs; these
    # params are lists with one value per frame (None: a sequence is computed and cached whole)
    indexed: bool = False  # frame f draws noise from generators seeded by f
    cheap: bool = False  # recomputing beats a disk-cache write
    reads: str | None = None  # the param naming a file the op reads (its sha256 beside it)
    # How a record describes a frame it makes: "sampler" (its prompt, seed, sampler, steps,
    # guidance... — it runs a diffusion sampler), "decoder" (its model and its latent's seed),
    # "frames" (frame f is its input f); None: by the generator upstream.
    describes: str | None = None
    output_name: str | None = None  # an output's default name when this op makes it
    version: int = 1  # part of every node key: bump when the output changes

    @property
    def internal(self) -> bool:
        return self.signature is None

    @property
    def statement(self) -> bool:
        """A statement of its own (save, audio): written in scripts, never a value."""
        return self.signature is not None and self.rule is None


def _surface(signature: OpSignature, rule: str, **facts: Any) -> OpDef:
    """An op scripts write: its name and doc come from its signature."""
    return OpDef(
        signature.name,
        signature.doc,
        signature=signature,
        rule=CHECK + rule,
        version=signature.version,
        **facts,
    )


def _internal(name: str, doc: str, **facts: Any) -> OpDef:
    return OpDef(name, doc, **facts)


_TABLE = (
    _surface(sig.NOISE, "rules:check_noise", shape=S.given, impl="ops_gen:noise", cheap=True),
    _surface(
        sig.DIFFUSE,
        "rules:check_diffuse",
        shape=S.generated,
        impl="ops_diffuse:diffuse",
        framewise=("guidance", "strength"),
        indexed=True,
        describes="sampler",
    ),
    _surface(
        sig.SAMPLE,
        "rules:check_sample",
        shape=S.decoded,
        impl="ops_gen:sample",
        framewise=(),
        describes="decoder",
    ),
    _surface(
        sig.ENCODE, "rules:check_encode", shape=S.encoded, impl="ops_gen:encode", framewise=()
    ),
    _surface(
        sig.DECODE,
        "rules:check_decode",
        shape=S.decoded,
        impl="ops_gen:decode",
        framewise=(),
        describes="decoder",
    ),
    _surface(
        sig.INTERPOLATE,
        "rules:check_interpolate",
        shape=S.first,
        impl="ops_gen:interpolate",
        cheap=True,
    ),
    _surface(sig.LOAD, "rules:check_load", shape=S.picture, impl="ops_image:load", reads="path"),
    _surface(
        sig.BLEND,
        "rules:check_image_op",
        shape=S.first,
        impl="ops_image:blend",
        framewise=("amount",),
    ),
    _surface(
        sig.UPSCALE,
        "rules:check_upscale",
        shape=S.upscaled,
        impl="ops_image:upscale",
        framewise=(),
    ),
    _surface(sig.GRID, "rules:check_grid", shape=S.sheet, impl="ops_image:grid"),
    _surface(
        sig.EDIT, "rules:check_edit", shape=S.first, impl="ops_gen:edit", framewise=(), cheap=True
    ),
    _surface(sig.ANIMATE, "animate:check_animate", shape=S.first, impl=None),
    _surface(sig.WANDER, "endless:check_wander", shape=S.given, impl="ops_live:wander", cheap=True),
    # `save` and `audio` are statements (the program checker handles them): a signature, no
    # rule, no value.
    OpDef(sig.SAVE.name, sig.SAVE.doc, shape=S.first, impl=None, signature=sig.SAVE),
    OpDef(sig.AUDIO.name, sig.AUDIO.doc, shape=S.first, impl=None, signature=sig.AUDIO),
    # ---- internal: made by the checker from prompts, arithmetic and `animate` ------------------
    _internal(
        "prompt", "a prompt's conditioning", shape=S.conditioning, impl="ops_gen:prompt", cheap=True
    ),
    _internal(
        "mix",
        "a weighted mix of conditionings (a prompt schedule's cross-fade)",
        shape=S.conditioning,
        impl="ops_gen:mix",
        framewise=("weights",),
        cheap=True,
    ),
    _internal("add", "latent a + b", shape=S.first, impl="ops_gen:add", framewise=(), cheap=True),
    _internal("sub", "latent a - b", shape=S.first, impl="ops_gen:sub", framewise=(), cheap=True),
    _internal(
        "scale", "latent × a number", shape=S.first, impl="ops_gen:scale", framewise=(), cheap=True
    ),
    _internal(
        "stack",
        "an animation's frames, one input each",
        shape=S.first,
        impl="ops_motion:stack",
        output_name="animate",
        describes="frames",
    ),
    _internal("warp", "an image moved by the camera", shape=S.first, impl="ops_motion:warp"),
    _internal(
        "colormatch",
        "an image's colours matched to the first frame's",
        shape=S.first,
        impl="ops_motion:colormatch",
    ),
    _internal("adjust", "contrast and sharpening", shape=S.first, impl="ops_motion:adjust"),
    _internal(
        "addnoise", "seeded noise added to an image", shape=S.first, impl="ops_motion:addnoise"
    ),
    _internal(
        "feedback",
        "one step of an endless animate (gencode live)",
        shape=S.first,
        impl="ops_live:feedback",
    ),
    _internal(
        "picture",
        "the picture on screen (the stream's previous frame, or its anchor)",
        shape=S.picture,
        impl="ops_live:picture",
    ),
)
OPS: dict[str, OpDef] = {op.name: op for op in _TABLE}
# What scripts may write, by name: the ops with a signature (a view of OPS, not a copy).
SIGNATURES: dict[str, OpSignature] = {
    op.name: op.signature for op in _TABLE if op.signature is not None
}
GENERATORS = tuple(op.name for op in _TABLE if op.describes in ("sampler", "decoder"))


def describes(op: str) -> str | None:
    return OPS[op].describes if op in OPS else None


def op_version(op: str) -> int:
    """The op's version, part of its nodes' keys (1 for a name outside the table: a test's leaf,
    which no runtime can execute)."""
    return OPS[op].version if op in OPS else 1


def files_read(op: str, params: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(path relative to the script's folder, sha256) of each file a node of `op` reads."""
    what = OPS[op].reads
    return [(str(params[what]), params.get("sha256"))] if what else []


@cache
def resolve(ref: str) -> Callable[..., Any]:
    """The function a "module:function" reference names; a module without a dot is one of
    gencode.runtime's (the table's implementations: "ops_image:blend")."""
    module, _, name = ref.partition(":")
    if "." not in module:
        module = RUN + module
    return getattr(importlib.import_module(module), name)


def rule_of(op: str) -> Callable[..., Any]:
    """The check rule of a surface op."""
    ref = OPS[op].rule
    if ref is None:
        raise KeyError(f"op '{op}' has no check rule")
    return resolve(ref)
