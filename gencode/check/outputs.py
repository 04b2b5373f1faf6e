"""A program's outputs: the value an output statement renders (a latent through the model in force),
`save` with its path and soundtrack, and checks over the outputs as a whole after every statement
(two saves writing one file, animation rates a format cannot store).
Input: the checker's State and output statements. Output: `CheckedOutput`s and diagnostics."""

from __future__ import annotations

from pathlib import Path

from gencode import ast
from gencode import types as T
from gencode.check.exprs import Typed, noise, type_of
from gencode.check.rules import _plain, conditioning, confined_path, prompt_value, sampler_params
from gencode.check.state import State
from gencode.files import FileProblem, audio_format
from gencode.graph import Node
from gencode.ir import CheckedOutput, Const
from gencode.limits import MAX_AUDIO_BYTES
from gencode.ops.table import SIGNATURES
from gencode.outputs_paths import GIF_MAX_FPS


def check_collisions(state: State) -> None:
    """Two saves that would write one file (`save "x.png"` twice, a frame pattern meeting a
    still) are an error naming both lines: one would silently overwrite the other."""
    owner: dict[str, CheckedOutput] = {}
    for out in state.outputs:
        for file in saved_files(out):
            first = owner.setdefault(file, out)
            if first is not out:
                where = f"line {first.span.line}" if first.span.file == out.span.file else f"{Path(first.span.file).name}:{first.span.line}"  # fmt: skip
                state.error(out.span, f"'{file}' is also written by the save on {where}: one output would overwrite the other")  # fmt: skip
                break


def saved_files(out: CheckedOutput) -> list[str]:
    """The files a `save` writes, relative to the output folder (none for a default name)."""
    from pathlib import PurePosixPath

    from gencode.outputs_paths import ANIMATION_FORMATS, frame_path

    if out.path is None:
        return []  # default names are made unique when compiled
    path = PurePosixPath(out.path.replace("\\", "/"))
    frames = out.value.type == T.IMAGES and path.suffix.lower() not in ANIMATION_FORMATS
    if frames and out.value.length:
        return [PurePosixPath(frame_path(str(path), i)).as_posix() for i in range(out.value.length)]
    return [path.as_posix()]


def warn_gif_rates(state: State) -> None:
    """Warn where a sequence goes to a GIF at a rate GIF cannot store (it plays slower)."""
    for out in state.outputs:
        gif = out.path is None or out.path.lower().endswith(".gif")  # unsaved: a preview GIF
        if out.value.length and gif and out.fps > GIF_MAX_FPS:
            state.note(
                out.span,
                f"a GIF plays at most {GIF_MAX_FPS:g} fps (its frame delays count in 1/100 s): "
                f"fps {out.fps:g} becomes {GIF_MAX_FPS:g} there; save an .mp4 to keep {out.fps:g}",
                "warning",
            )


def binding_name(e: ast.Expr) -> str | None:
    return e.id if isinstance(e, ast.Name) else None


def renderable(state: State, v: Typed, span) -> Node:
    """An image (sequence) for an output value: latents are rendered with the current model."""
    t = type_of(v)
    if t in (T.IMAGE, T.IMAGES):
        assert isinstance(v, Node)  # images, latents and conditionings are always computed
        return v
    model = state.model(span)
    if t in (T.LATENT, T.LATENTS, T.NUMBER) and not (t == T.NUMBER and model.family != "diffusion"):
        if t == T.NUMBER:
            raise state.error(
                span, "a number on its own does nothing; outputs are images or sequences"
            )
        assert isinstance(v, Node)
        from gencode.check.rules import need_latent_shape

        need_latent_shape(state, v, model, span)
        op = {"diffusion": "diffuse", "gan": "sample", "vae": "decode"}[model.family]
        if op == "diffuse":
            return _diffuse_latent(state, v, span)
        return Node(op, T.IMAGES if v.length else T.IMAGE, {"model": model}, (v,), v.length, span)
    if t == T.CONDS and model.family == "diffusion":
        assert isinstance(v, Node)
        start = noise(state, int(state.setting("seed")), span)
        return _diffuse_latent(state, start, span, cond=v)
    raise state.error(
        span, f"{T.words([t])} is not an image: outputs are images, latents or sequences"
    )


def _diffuse_latent(state: State, z: Node, span, cond: Node | None = None) -> Node:
    """`diffuse from z` with the settings in force (a latent walk's frames, a prompt fade)."""
    model = state.model(span)
    length = z.length or (cond.length if cond is not None else None)
    if cond is None:
        cond = conditioning(state, model, _prompt_setting(state), length, span)
    negative = state.setting_spans.get("negative", span)  # unknown words: where it was set
    uncond = prompt_value(state, model, str(state.setting("negative")), negative)
    params = {
        "model": model,
        "steps": int(state.setting("steps")),
        "guidance": state.setting("guidance"),
        **sampler_params(state, str(state.setting("sampler")), state.setting("eta"), span),
        "seed": int(state.setting("seed")),
        "mode": "txt2img",
    }
    return Node("diffuse", T.IMAGES if length else T.IMAGE, params, (z, cond, uncond), length, span)


def _prompt_setting(state: State) -> Typed:
    p = state.setting("prompt")
    return p if not isinstance(p, str) else Const(T.STRING, p)


def save_statement(state: State, e: ast.Call) -> None:
    from gencode.check.calls import bind_arguments

    args = bind_arguments(state, SIGNATURES["save"], e)
    value, path = args["value"], args["path"]
    assert isinstance(path, Const)  # a required string
    if value is None:
        if not state.outputs:
            raise state.error(
                e.span, "nothing to save yet: write an output first, or 'save NAME \"file.png\"'"
            )
        previous = state.outputs.pop()
        image, name = previous.value, previous.name
    else:
        image, name = renderable(state, value, e.span), binding_name(e.words[0])
    text = str(path.value)
    _check_save_path(state, text, image, path.span)
    audio = _audio(state, args["audio"], text)
    fps = float(_plain(args["fps"]))
    state.outputs.append(CheckedOutput(image, name, text, fps, e.span, audio))


def _audio(state: State, audio: object, path: str) -> str | None:
    """A soundtrack for an .mp4: a file beside the script (its path relative to the script's folder)."""
    if audio is None:
        return None
    assert isinstance(audio, Const)
    if not path.lower().endswith(".mp4"):
        raise state.error(audio.span, "a soundtrack goes with an .mp4 output")
    file = confined_path(state, str(audio.value), audio.span)
    try:
        audio_format(file, MAX_AUDIO_BYTES)
    except FileProblem as e:
        if e.missing:
            raise state.error(audio.span, f"no such audio file: {audio.value}") from None
        raise state.error(audio.span, f"audio '{audio.value}': {e.why}") from None
    return file.relative_to(state.root_dir).as_posix()


def _check_save_path(state: State, text: str, image: Node, span) -> None:
    from gencode.outputs_paths import path_problem

    problem = path_problem(text, image.type == T.IMAGES)
    if problem:
        raise state.error(span, problem)
