"""The `size` setting: sides within the language's range, multiples of what the model needs, and a
warning when a diffusion model was not trained at that size. Input: the checker's State and the
size value. Output: (width, height), or a diagnostic naming the size at fault."""

from __future__ import annotations

from gencode import types as T
from gencode.check.state import State
from gencode.ir import Const
from gencode.settings import SETTINGS


def check_size(state: State, value: Const, span, quiet: bool = False) -> tuple[int, int]:
    w, h = value.value if value.type == T.SIZE else (int(value.value), int(value.value))
    multiple = state.model(span).size_multiple
    max_side = SETTINGS["size"].hi
    assert max_side is not None
    for side in (w, h):
        if not 8 <= side <= max_side:
            raise state.error(span, f"size {w}x{h}: each side must be between 8 and {max_side:g}")
        if side % multiple:
            lo, hi = side // multiple * multiple, (side // multiple + 1) * multiple
            if not quiet:
                raise state.error(
                    span,
                    f"size {w}x{h}: model '{state.model(span).name}' needs sides that are multiples of {multiple} (try {' or '.join(str(v) for v in sorted({max(lo, multiple), hi}))})",
                )
            raise state.error(
                span,
                f"model '{state.model(span).name}' needs sizes that are multiples of {multiple}; the size in force is {w}x{h}",
            )
    if not quiet:
        native_size_warning(state, int(w), int(h), span)
    return (int(w), int(h))


def native_size_warning(state: State, w: int, h: int, span) -> None:
    """A warning when a diffusion model is asked for a size it was not trained at."""
    model = state.model(span)
    native = model.native_sizes
    if model.family != "diffusion" or not native or (w == h and w in native):
        return
    sizes = " and ".join(f"{s}x{s}" for s in native)
    look = (
        "shapes repeat and scenes lose their layout"
        if max(w, h) > native[0]
        else "scenes are cramped and lose detail"
        if max(w, h) < native[-1]
        else "the picture is stretched between the layouts it knows"
    )
    state.note(
        span,
        f"size {w}x{h}: model '{model.name}' was trained at {sizes}; at {w}x{h} {look} "
        f"(use size {native[0]}, or upscale a native render)",
        "warning",
    )
