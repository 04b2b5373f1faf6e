"""Per-op check rules: from checked arguments to the op's typed value (the rule table)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gencode import ast
from gencode import types as T
from gencode.check.exprs import Typed, as_latent, noise, type_of
from gencode.check.state import State
from gencode.files import FileProblem, path_text_problem, sha256_file
from gencode.ir import Const, Sched, Value
from gencode.limits import MAX_IMAGE_BYTES
from gencode.models.catalog import ModelRef

STOPWORDS = frozenset("a an the at in on of with and by under over from to into near".split())
MAX_OUTPUT_SIDE = 4096
Rule = Callable[[State, dict, ast.Call], Value]
RULES: dict[str, Rule] = {}


def rule(name: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        RULES[name] = fn
        return fn

    return register


def _plain(v: Typed | object) -> Any:
    """A param's plain value: numbers as floats, symbols and strings as str, schedules kept."""
    if isinstance(v, Const):
        return v.value
    return v


def _need_family(state: State, e: ast.Call, *families: str) -> ModelRef:
    model = state.model(e.span)
    if model.family not in families:
        use = {"diffusion": "diffuse", "gan": "sample", "vae": "encode/decode/sample"}
        raise state.error(
            e.name.span,
            f"'{e.name.id}' needs a {' or '.join(families)} model, but model '{model.name}' is a "
            f"{model.family} model (use {use.get(model.family, 'another op')})",
        )
    return model


def latent_shape(v: Value) -> list[int] | None:
    """The shape of one latent of `v`, followed back to the noise or encode that made it."""
    while v.op in ("interpolate", "add", "sub", "scale", "edit") and v.inputs:
        v = v.inputs[0]  # a loop, not recursion: a chain of 10,000 bindings is fine
    if v.op == "noise":
        return list(v.params["shape"])
    if v.op == "encode":
        model = v.params["model"]
        return model.latent_shape(*v.params.get("size", (32, 32)))
    return None


def need_latent_shape(state: State, z: Value, model: ModelRef, span) -> None:
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
    lengths = {v.length for v in values if isinstance(v, Value) and v.length}
    if len(lengths) > 1:
        raise state.error(e.span, f"sequences of different lengths: {sorted(lengths)}")
    return lengths.pop() if lengths else None


def _knows(model: ModelRef, vocab: set[str], word: str) -> bool:
    """A word the model understands: in its vocabulary, an alias, a filler, or a plural/singular."""
    aliases = model.meta.get("aliases", {})
    fillers = set(model.meta.get("ignored_words", ()))
    forms = {word, word + "s", word + "es", word.removesuffix("s"), word.removesuffix("es")}
    return any(f in vocab or f in aliases or f in fillers for f in forms)


def prompt_value(state: State, model: ModelRef, text: str, span) -> Value:
    """The conditioning of a prompt, warning once about words the model does not know."""
    vocab = set(model.vocabulary)
    if vocab:
        words = [w for w in re.findall(r"[a-z]+", text.lower()) if w not in STOPWORDS]
        unknown = [w for w in words if not _knows(model, vocab, w)]
        for w in unknown:
            if (w, model.name) not in state.warned_words:
                state.warned_words.add((w, model.name))
                state.note(
                    span,
                    f"model '{model.name}' does not know the word '{w}'; it knows: "
                    f"{', '.join(sorted(vocab))}",
                    "warning",
                )
    return Value("prompt", T.COND, {"text": text, "model": model}, (), None, span)


def conditioning(state: State, model: ModelRef, prompt: Typed, length: int | None, span) -> Value:
    """A prompt string, schedule or sequence → one conditioning or a sequence of them."""
    if isinstance(prompt, Value):
        return prompt
    if isinstance(prompt, Sched):
        texts = sorted({v for _, v in prompt.keyframes})
        if len(texts) == 1:
            return prompt_value(state, model, texts[0], span)
        inputs = tuple(prompt_value(state, model, t, span) for t in texts)
        n = length or 1
        return Value(
            "mix",
            T.CONDS if length else T.COND,
            {"schedule": prompt, "texts": texts, "frames": n},
            inputs,
            length,
            span,
        )
    return prompt_value(state, model, str(_plain(prompt)), span)


@rule("noise")
def _noise(state: State, a: dict, e: ast.Call) -> Value:
    return noise(state, int(_plain(a["seed"])), e.span)


@rule("diffuse")
def _diffuse(state: State, a: dict, e: ast.Call) -> Value:
    model = _need_family(state, e, "diffusion")
    start = a["from"]
    if isinstance(start, Const):
        start = as_latent(state, start, e.span)
    prompt = a["prompt"]
    length = _length(state, e, start, prompt)
    cond = conditioning(state, model, prompt, length, getattr(prompt, "span", e.span))
    uncond = prompt_value(state, model, str(_plain(a["negative"])), e.span)
    img2img = start is not None and start.type in (T.IMAGE, T.IMAGES)
    if start is not None and not img2img:
        need_latent_shape(state, start, model, e.span)
    if start is None:
        start = noise(state, int(_plain(a["seed"])), e.span)
    params = {
        "model": model,
        "steps": int(_plain(a["steps"])),
        "guidance": _plain(a["guidance"]),
        "sampler": str(_plain(a["sampler"])),
        "eta": float(_plain(a["eta"])),
        "seed": int(_plain(a["seed"])),
        "mode": "img2img" if img2img else "txt2img",
    }
    if img2img:
        params["strength"] = _plain(a["strength"])
    out = T.IMAGES if length else T.IMAGE
    return Value("diffuse", out, params, (start, cond, uncond), length, e.span)


@rule("sample")
def _sample(state: State, a: dict, e: ast.Call) -> Value:
    model = _need_family(state, e, "gan", "vae")
    z = a["from"]
    z = (
        as_latent(state, z, e.span)
        if z is not None
        else noise(state, int(_plain(a["seed"])), e.span)
    )
    need_latent_shape(state, z, model, e.span)
    out = T.IMAGES if z.length else T.IMAGE
    return Value("sample", out, {"model": model}, (z,), z.length, e.span)


def _need_vae(state: State, e: ast.Call) -> ModelRef:
    """encode/decode: a VAE model, or a latent diffusion model (through its own VAE)."""
    model = state.model(e.span)
    if model.family == "diffusion" and int(model.meta.get("latent_scale", 1)) > 1:
        return model
    return _need_family(state, e, "vae")


@rule("encode")
def _encode(state: State, a: dict, e: ast.Call) -> Value:
    model = _need_vae(state, e)
    x = a["image"]
    size = list(state.setting("size"))
    return Value(
        "encode",
        T.LATENTS if x.length else T.LATENT,
        {"model": model, "size": size},
        (x,),
        x.length,
        e.span,
    )


@rule("decode")
def _decode(state: State, a: dict, e: ast.Call) -> Value:
    model = _need_vae(state, e)
    z = as_latent(state, a["latent"], e.span)
    need_latent_shape(state, z, model, e.span)
    return Value(
        "decode", T.IMAGES if z.length else T.IMAGE, {"model": model}, (z,), z.length, e.span
    )


@rule("interpolate")
def _interpolate(state: State, a: dict, e: ast.Call) -> Value:
    mode, frames = str(_plain(a["mode"])), int(_plain(a["frames"]))
    method = str(_plain(a["method"]) or ("slerp" if mode == "latent" else "lerp"))
    params = {"mode": mode, "frames": frames, "method": method, "ease": str(_plain(a["ease"]))}
    ends = [a["a"], a["b"]]
    if mode == "latent":
        ends = [as_latent(state, v, e.span) for v in ends]
        if any(v.length for v in ends):
            raise state.error(e.span, "interpolate latent takes two single latents")
        return Value("interpolate", T.LATENTS, params, tuple(ends), frames, e.span)
    want = T.STRING if mode == "prompt" else T.IMAGE
    for v in ends:
        if type_of(v) != want:
            raise state.error(
                e.span, f"interpolate {mode} takes {T.words([want])}s, got {T.words([type_of(v)])}"
            )
    if mode == "prompt":
        model = _need_family(state, e, "diffusion")
        ends = [prompt_value(state, model, str(v.value), v.span) for v in ends]
        return Value("interpolate", T.CONDS, params, tuple(ends), frames, e.span)
    return Value("interpolate", T.IMAGES, params, tuple(ends), frames, e.span)


@rule("load")
def _load(state: State, a: dict, e: ast.Call) -> Value:
    const = a["path"]
    path = confined_path(state, str(const.value), const.span)
    try:
        digest = sha256_file(path, MAX_IMAGE_BYTES, "image file")
    except FileProblem as err:
        if err.missing:
            raise state.error(const.span, f"no such image file: {const.value}") from None
        raise state.error(const.span, f"can't load '{const.value}': {err.why}") from None
    w, h = state.setting("size")
    rel = path.relative_to(state.root_dir).as_posix()
    return Value("load", T.IMAGE, {"path": rel, "sha256": digest, "size": [w, h]}, (), None, e.span)


def confined_path(state: State, text: str, span, base: Path | None = None) -> Path:
    """A path inside the script's folder (resolved from `base`, default that folder, following
    symlinks); absolute paths, `..` out of it, and names no OS takes are refused."""
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
            f"'{text}' is outside the script's folder; scripts may only read files beside them",
        )
    return resolved


@rule("blend")
def _blend(state: State, a: dict, e: ast.Call) -> Value:
    x, y = a["a"], a["b"]
    length = _length(state, e, x, y)
    return Value(
        "blend",
        T.IMAGES if length else T.IMAGE,
        {"amount": _plain(a["amount"])},
        (x, y),
        length,
        e.span,
    )


@rule("upscale")
def _upscale(state: State, a: dict, e: ast.Call) -> Value:
    x, factor = a["image"], int(_plain(a["factor"]))
    w, h = state.setting("size")
    if max(w, h) * factor > MAX_OUTPUT_SIDE:
        raise state.error(
            e.span,
            f"upscale by {factor} makes {w * factor}x{h * factor}, larger than {MAX_OUTPUT_SIDE} pixels a side",
        )
    return Value(
        "upscale",
        x.type,
        {"factor": factor, "method": str(_plain(a["method"]))},
        (x,),
        x.length,
        e.span,
    )


@rule("grid")
def _grid(state: State, a: dict, e: ast.Call) -> Value:
    cols = _plain(a["cols"])
    return Value(
        "grid", T.IMAGE, {"cols": int(cols) if cols else None}, (a["frames"],), None, e.span
    )


@rule("edit")
def _edit(state: State, a: dict, e: ast.Call) -> Value:
    model = _need_family(state, e, "gan", "vae")
    z = as_latent(state, a["latent"], e.span)
    need_latent_shape(state, z, model, e.span)
    edits = {k: float(_plain(v)) for k, v in a.items() if k != "latent" and v is not None}
    if not edits:
        raise state.error(
            e.span,
            f"edit needs an attribute and an amount, e.g. 'edit z smile 1.5'; model '{model.name}' has: {', '.join(model.attributes) or 'no attributes'}",
        )
    return Value("edit", z.type, {"model": model, "edits": edits}, (z,), z.length, e.span)
