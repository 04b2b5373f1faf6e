"""Per-op check rules: from checked arguments to the op's typed value (the rule table)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gencode import ast
from gencode import types as T
from gencode.check.exprs import Typed, as_latent, noise, type_of
from gencode.check.state import State
from gencode.data.words import unknown_words
from gencode.files import FileProblem, path_text_problem, sha256_file
from gencode.graph import Node
from gencode.ir import Const, Sched
from gencode.limits import MAX_IMAGE_BYTES
from gencode.models.catalog import ModelRef
from gencode.models.families import FAMILIES
from gencode.ops import shapes
from gencode.ops.signatures import ANY_IMAGE
from gencode.ops.table import OPS, SIGNATURES
from gencode.samplers.names import sampler_options

MAX_OUTPUT_SIDE = 4096


def sampler_params(state: State, sampler: str, eta: Any, span) -> dict[str, Any]:
    """The sampler and the options it runs with; an option it would ignore is an error."""
    try:
        return {"sampler": sampler, **sampler_options(sampler, {"eta": _plain(eta)})}
    except ValueError as err:
        raise state.error(getattr(eta, "span", None) or span, str(err)) from None


def negative_span(state: State, a: dict, e: ast.Call):
    """Where a call's negative prompt was written: its keyword, else the `negative` setting."""
    span = getattr(a["negative"], "span", None)
    return span if span else state.setting_spans.get("negative", e.span)


def _plain(v: Typed | object) -> Any:
    """A param's plain value: numbers as floats, symbols and strings as str, schedules kept."""
    if isinstance(v, Const):
        return v.value
    return v


def _need_family(state: State, e: ast.Call, *families: str) -> ModelRef:
    model = state.model(e.span)
    if model.family not in families:
        raise state.error(
            e.name.span,
            f"'{e.name.id}' needs a {' or '.join(families)} model, but model '{model.name}' is a "
            f"{model.family} model (use {FAMILIES[model.family].renders})",
        )
    return model


def latent_shape(v: Node) -> list[int] | None:
    """The shape of one latent of `v`, by each op's shape rule (the table's), followed back along
    first inputs to the op that made it: a loop, so a chain of 10,000 bindings is fine."""
    chain = [v]
    while OPS[chain[-1].op].shape is shapes.first and chain[-1].inputs:
        chain.append(chain[-1].inputs[0])
    shape: shapes.Shape | None = None
    for x in reversed(chain):
        model = x.params.get("model")
        query = shapes.Query(
            x.params, [shape], [None], model if isinstance(model, ModelRef) else None
        )
        shape = OPS[x.op].shape(query) if x.op in OPS else None
    return list(shape) if shape is not None and x.type in (T.LATENT, T.LATENTS) else None


def need_latent_shape(state: State, z: Node, model: ModelRef, span) -> None:
    """A latent made for another model (or size) is refused before anything runs."""
    have = latent_shape(z)
    w, h = state.setting("size")
    want = model.latent_shape(w, h)
    if have is not None and have != want:
        shape = "x".join(map(str, have))
        raise state.error(
            span,
            f"this latent has shape {shape}, but model '{model.name}' at size {w}x{h} takes {'x'.join(map(str, want))} (was it made under another model or size?)",
        )


def _length(state: State, e: ast.Call, *values: object) -> int | None:
    lengths = {v.length for v in values if isinstance(v, Node) and v.length}
    if len(lengths) > 1:
        raise state.error(e.span, f"sequences of different lengths: {sorted(lengths)}")
    return lengths.pop() if lengths else None


def prompt_value(state: State, model: ModelRef, text: str, span) -> Node:
    """The conditioning of a prompt, warning once about words the model does not know."""
    vocab = set(model.vocabulary)
    if vocab:
        for w in unknown_words(text, model.meta):
            if (w, model.name) not in state.warned_words:
                state.warned_words.add((w, model.name))
                state.note(
                    span,
                    f"model '{model.name}' does not know the word '{w}'; it knows: "
                    f"{', '.join(sorted(vocab))}",
                    "warning",
                )
    return Node("prompt", T.COND, {"text": text, "model": model}, (), None, span)


def conditioning(state: State, model: ModelRef, prompt: Typed, length: int | None, span) -> Node:
    """A prompt string, schedule or sequence → one conditioning or a sequence of them."""
    if isinstance(prompt, Node):
        return prompt
    if isinstance(prompt, Sched):
        texts = sorted({v for _, v in prompt.keyframes})
        if len(texts) == 1:
            return prompt_value(state, model, texts[0], span)
        inputs = tuple(prompt_value(state, model, t, span) for t in texts)
        n = length or 1
        return Node(
            "mix",
            T.CONDS if length else T.COND,
            {"schedule": prompt, "texts": texts, "frames": n},
            inputs,
            length,
            span,
        )
    return prompt_value(state, model, str(_plain(prompt)), span)


def check_noise(state: State, a: dict, e: ast.Call) -> Node:
    return noise(state, int(_plain(a["seed"])), e.span)


def check_diffuse(state: State, a: dict, e: ast.Call) -> Node:
    model = _need_family(state, e, "diffusion")
    start = a["from"]
    if isinstance(start, Const):
        start = as_latent(state, start, e.span)
    prompt = a["prompt"]
    length = _length(state, e, start, prompt)
    cond = conditioning(state, model, prompt, length, getattr(prompt, "span", e.span))
    uncond = prompt_value(state, model, str(_plain(a["negative"])), negative_span(state, a, e))
    img2img = start is not None and start.type in (T.IMAGE, T.IMAGES)
    if start is not None and not img2img:
        need_latent_shape(state, start, model, e.span)
    if start is None:
        start = noise(state, int(_plain(a["seed"])), e.span)
    params = {
        "model": model,
        "steps": int(_plain(a["steps"])),
        "guidance": _plain(a["guidance"]),
        **sampler_params(state, str(_plain(a["sampler"])), a["eta"], e.span),
        "seed": int(_plain(a["seed"])),
        "mode": "img2img" if img2img else "txt2img",
    }
    if img2img:
        params["strength"] = _plain(a["strength"])
    out = T.IMAGES if length else T.IMAGE
    return Node("diffuse", out, params, (start, cond, uncond), length, e.span)


def check_sample(state: State, a: dict, e: ast.Call) -> Node:
    model = _need_family(state, e, "gan", "vae")
    z = a["from"]
    z = (
        as_latent(state, z, e.span)
        if z is not None
        else noise(state, int(_plain(a["seed"])), e.span)
    )
    need_latent_shape(state, z, model, e.span)
    out = T.IMAGES if z.length else T.IMAGE
    return Node("sample", out, {"model": model}, (z,), z.length, e.span)


def _need_vae(state: State, e: ast.Call) -> ModelRef:
    """encode/decode: a VAE model, or a latent diffusion model (through its own VAE)."""
    model = state.model(e.span)
    if model.family == "diffusion" and int(model.meta.get("latent_scale", 1)) > 1:
        return model
    return _need_family(state, e, "vae")


def check_encode(state: State, a: dict, e: ast.Call) -> Node:
    model = _need_vae(state, e)
    x = a["image"]
    size = list(state.setting("size"))
    return Node(
        "encode",
        T.LATENTS if x.length else T.LATENT,
        {"model": model, "size": size},
        (x,),
        x.length,
        e.span,
    )


def check_decode(state: State, a: dict, e: ast.Call) -> Node:
    model = _need_vae(state, e)
    z = as_latent(state, a["latent"], e.span)
    need_latent_shape(state, z, model, e.span)
    return Node(
        "decode", T.IMAGES if z.length else T.IMAGE, {"model": model}, (z,), z.length, e.span
    )


def check_interpolate(state: State, a: dict, e: ast.Call) -> Node:
    mode, frames = str(_plain(a["mode"])), int(_plain(a["frames"]))
    method = str(_plain(a["method"]) or ("slerp" if mode == "latent" else "lerp"))
    params = {"mode": mode, "frames": frames, "method": method, "ease": str(_plain(a["ease"]))}
    ends = [a["a"], a["b"]]
    if mode == "latent":
        ends = [as_latent(state, v, e.span) for v in ends]
        if any(v.length for v in ends):
            raise state.error(e.span, "interpolate latent takes two single latents")
        return Node("interpolate", T.LATENTS, params, tuple(ends), frames, e.span)
    want = T.STRING if mode == "prompt" else T.IMAGE
    for v in ends:
        if type_of(v) != want:
            raise state.error(
                e.span, f"interpolate {mode} takes {T.words([want])}s, got {T.words([type_of(v)])}"
            )
    if mode == "prompt":
        model = _need_family(state, e, "diffusion")
        ends = [prompt_value(state, model, str(v.value), v.span) for v in ends]
        return Node("interpolate", T.CONDS, params, tuple(ends), frames, e.span)
    return Node("interpolate", T.IMAGES, params, tuple(ends), frames, e.span)


def check_load(state: State, a: dict, e: ast.Call) -> Node:
    const = a["path"]
    path = confined_path(state, str(const.value), const.span)
    try:
        digest = sha256_file(path, MAX_IMAGE_BYTES, "image file")
    except FileProblem as problem:
        if problem.missing:
            raise state.error(const.span, f"no such image file: {const.value}") from None
        raise state.error(const.span, f"can't load '{const.value}': {problem.why}") from None
    w, h = state.setting("size")
    rel = path.relative_to(state.root_dir).as_posix()
    return Node("load", T.IMAGE, {"path": rel, "sha256": digest, "size": [w, h]}, (), None, e.span)


def confined_path(state: State, text: str, span, base: Path | None = None, hint: str = "") -> Path:
    """A path inside the script's folder (resolved from `base`, default that folder, following
    symlinks); absolute paths, `..` out of it, and names no OS takes are refused (a
    refusal ends with `hint`, when given)."""
    problem = path_text_problem(text)
    if problem:
        raise state.error(span, f"{ascii(text)[:80]}: {problem}")
    p = Path(text)
    try:
        resolved = ((base or state.root_dir) / p).resolve()
    except (OSError, RuntimeError) as e:  # a symlink loop, a name the file system refuses
        raise state.error(span, f"'{text}': can't resolve this path ({e})") from None
    if p.is_absolute() or not resolved.is_relative_to(state.root_dir.resolve()):
        raise state.error(
            span,
            f"'{text}' is outside the script's folder; scripts may only read files beside them"
            + hint,
        )
    return resolved


def check_image_op(state: State, a: dict, e: ast.Call) -> Node:
    """The rule of a plain image op (blend, and any new one that needs nothing more): its image
    arguments are its inputs, in order; every other argument is a param; a sequence input makes
    a sequence, frame by frame (lengths must agree)."""
    sig = SIGNATURES[e.name.id]
    args = (*sig.positional, *sig.keywords)
    is_image = {x.name for x in args if set(x.types) <= set(ANY_IMAGE)}
    images = tuple(a[x.name] for x in args if x.name in is_image and a[x.name] is not None)
    params = {x.name: _plain(a[x.name]) for x in args if x.name not in is_image}
    length = _length(state, e, *images)
    return Node(e.name.id, T.IMAGES if length else T.IMAGE, params, images, length, e.span)


def check_upscale(state: State, a: dict, e: ast.Call) -> Node:
    x, factor = a["image"], int(_plain(a["factor"]))
    w, h = state.setting("size")
    if max(w, h) * factor > MAX_OUTPUT_SIDE:
        raise state.error(
            e.span,
            f"upscale by {factor} makes {w * factor}x{h * factor}, larger than {MAX_OUTPUT_SIDE} pixels a side",
        )
    return Node(
        "upscale",
        x.type,
        {"factor": factor, "method": str(_plain(a["method"]))},
        (x,),
        x.length,
        e.span,
    )


def check_grid(state: State, a: dict, e: ast.Call) -> Node:
    cols = _plain(a["cols"])
    return Node(
        "grid", T.IMAGE, {"cols": int(cols) if cols else None}, (a["frames"],), None, e.span
    )


def check_edit(state: State, a: dict, e: ast.Call) -> Node:
    model = _need_family(state, e, "gan", "vae")
    z = as_latent(state, a["latent"], e.span)
    need_latent_shape(state, z, model, e.span)
    edits = {k: float(_plain(v)) for k, v in a.items() if k != "latent" and v is not None}
    if not edits:
        raise state.error(
            e.span,
            f"edit needs an attribute and an amount, e.g. 'edit z smile 1.5'; model '{model.name}' has: {', '.join(model.attributes) or 'no attributes'}",
        )
    return Node("edit", z.type, {"model": model, "edits": edits}, (z,), z.length, e.span)
