"""Settings: the state every statement after them uses (`seed 42`, `size 96x64`, ...).

Model-dependent defaults (steps, guidance, sampler, size) come from the model's metadata when
the script does not set them.
"""

from __future__ import annotations

from gencode import types as T
from gencode.ops.signatures import MOTION, SAMPLER_NAMES, Arg
from gencode.samplers.names import DEFAULT_SAMPLER
from gencode.seeds import SEED_MAX

MAX_SIDE = 2048

SETTINGS: dict[str, Arg] = {
    "seed": Arg("seed", (T.NUMBER,), 0, 0, SEED_MAX, integer=True),
    "size": Arg("size", (T.SIZE, T.NUMBER), None, 8, MAX_SIDE, integer=True),
    "model": Arg("model", (T.SYMBOL, T.STRING), "scenes"),
    "sampler": Arg("sampler", (T.SYMBOL, T.STRING), DEFAULT_SAMPLER, choices=SAMPLER_NAMES),
    "steps": Arg("steps", (T.NUMBER,), 20, 1, 1000, integer=True),
    "guidance": Arg("guidance", (T.NUMBER, T.SCHEDULE), 3.0, 0, 50),
    "fps": Arg("fps", (T.NUMBER,), 12, 1, 120),
    "prompt": Arg("prompt", (T.STRING, T.PROMPT_SCHEDULE), ""),
    "negative": Arg("negative", (T.STRING,), ""),
    "device": Arg("device", (T.SYMBOL,), "auto", choices=("auto", "cpu", "cuda", "mps")),
    "bpm": Arg("bpm", (T.NUMBER,), 120, 1, 400),
    "eta": Arg("eta", (T.NUMBER,), None, 0, 1),  # None: the sampler's own (samplers.names)
    "strength": Arg("strength", (T.NUMBER, T.SCHEDULE), 0.6, 0, 1),
    **{a.name: a for a in MOTION},
    # Live: a new program goes live on a multiple of `quantize` frames (`1b`: on the beat), and
    # cross-fades from the picture on screen over `crossfade` frames.
    "quantize": Arg("quantize", (T.NUMBER,), 0, 0, 100000),
    "crossfade": Arg("crossfade", (T.NUMBER,), 0, 0, 100000),
    # Live: a feedback frame whose starting picture is at least this similar (cosine) to the
    # last frame made may reuse that frame's picture (StreamDiffusion's similarity filter; 0 off).
    "skip_similar": Arg("skip_similar", (T.NUMBER,), 0, 0, 1),
}

# Settings whose default comes from the model's metadata (key in meta["defaults"]).
MODEL_DEFAULTS = ("steps", "guidance", "sampler", "size")
