"""The `scenes` dataset: procedural landscapes with captions, deterministic from a seed (numpy only).

generate(n, seed, size) → uint8 images (N, H, W, 3) and labels
{"subject", "time", "modifiers" (a sorted tuple), "caption"}: 13 subjects, 4 times of day and 0-2
of 7 modifiers that compose with any subject ("lake with mist at dawn", "city in the snow at night").
Each image also varies its horizon, shapes and colours. The painters draw at any size (native 256);
shapes are analytic (coverage from signed distances) and textures are smooth value noise, so a
256 px batch renders at well over 100 images a second on one thread.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gencode.data import scene_canvas as sc
from gencode.data import scene_modifiers as sm
from gencode.data import scene_painters as sp
from gencode.data import scene_sky as ss
from gencode.data import scene_water as sw
from gencode.data.scene_captions import ALIASES, FILLERS, caption
from gencode.data.words import tokenize_with

NATIVE_SIZE = 256
# subject -> (painter, range of the horizon's height as a fraction of the image from the top)
PAINTERS: dict[str, tuple[Callable[[sc.Canvas], None], tuple[float, float]]] = {
    "dunes": (sp.dunes, (0.38, 0.55)),
    "mountains": (sp.mountains, (0.55, 0.7)),
    "ocean": (sw.ocean, (0.42, 0.6)),
    "forest": (sp.forest, (0.42, 0.56)),
    "clouds": (ss.clouds, (0.84, 0.95)),
    "snowfield": (sp.snowfield, (0.45, 0.62)),
    "city": (ss.city, (0.8, 0.9)),
    "stars": (ss.stars, (0.82, 0.92)),
    "lake": (sw.lake, (0.42, 0.55)),
    "volcano": (sp.volcano, (0.62, 0.74)),
    "meadow": (sp.meadow, (0.45, 0.6)),
    "island": (sw.island, (0.5, 0.62)),
    "canyon": (sp.canyon, (0.48, 0.6)),
}
SUBJECTS: tuple[str, ...] = tuple(PAINTERS)
TIMES: tuple[str, ...] = tuple(sc.PALETTES)
MODIFIERS: tuple[str, ...] = ("moon", "mist", "snow", "storm", "autumn", "aurora", "rainbow")
VOCABULARY: tuple[str, ...] = SUBJECTS + TIMES + MODIFIERS
MAX_MODIFIERS = 2
# What can be seen together: a starfield needs a dark sky; an aurora a dark one, a rainbow sunlight.
TIMES_OF: dict[str, tuple[str, ...]] = {"stars": ("dawn", "dusk", "night")}
MODIFIER_TIMES: dict[str, tuple[str, ...]] = {
    "aurora": ("dusk", "night"),
    "rainbow": ("dawn", "day", "dusk"),
}
CLASHES = frozenset(
    frozenset(p)
    for p in (
        ("storm", "aurora"),
        ("storm", "rainbow"),
        ("storm", "moon"),
        ("snow", "rainbow"),
        ("snow", "autumn"),
        ("snow", "aurora"),
        ("aurora", "rainbow"),
        ("stars", "storm"),
        ("stars", "snow"),
        ("stars", "rainbow"),
        ("clouds", "storm"),
    )
)


def tokenize(prompt: str) -> tuple[list[str], list[str]]:
    """(known vocabulary words in canonical form, unknown words) of a prompt."""
    known, unknown = tokenize_with(prompt, VOCABULARY, ALIASES)
    return known, [w for w in unknown if w not in FILLERS]


def allowed(subject: str, time: str, modifiers: tuple[str, ...]) -> bool:
    """Whether a subject, time of day and modifiers make a picture that can be drawn."""
    if time not in TIMES_OF.get(subject, TIMES):
        return False
    if any(time not in MODIFIER_TIMES.get(m, TIMES) for m in modifiers):
        return False
    words = (subject, *modifiers)
    return not any(
        frozenset((a, b)) in CLASHES for i, a in enumerate(words) for b in words[i + 1 :]
    )


def draw_label(rng: np.random.Generator) -> dict:
    """One random label: subject, time, 0-2 compatible modifiers (sorted) and a caption."""
    subject = SUBJECTS[rng.integers(len(SUBJECTS))]
    times = TIMES_OF.get(subject, TIMES)
    time = times[rng.integers(len(times))]
    count = int(rng.choice(MAX_MODIFIERS + 1, p=(0.3, 0.45, 0.25)))
    mods: tuple[str, ...] = ()
    for m in rng.permutation(MODIFIERS):
        if len(mods) < count and allowed(subject, time, (*mods, str(m))):
            mods = (*mods, str(m))
    mods = tuple(sorted(mods))
    return {
        "subject": subject,
        "time": time,
        "modifiers": mods,
        "caption": caption(subject, time, mods, rng),
    }


def paint_group(
    subject: str, time: str, modifiers: list[tuple[str, ...]], size: int, rng: np.random.Generator
) -> np.ndarray:
    """Images (3, N, H, W) float32 of one subject at one time of day, each with its modifiers."""
    painter, horizon = PAINTERS[subject]
    # Modifiers draw from their own generator, so an image keeps its layout with or without them.
    modifier_rng = np.random.default_rng(rng.integers(2**63))
    c = sc.make_canvas(len(modifiers), size, time, horizon, rng)
    sc.sky(c)
    for stage, steps in (("sky", sm.SKY_STEPS), ("air", sm.AIR_STEPS)):
        if stage == "air":
            painter(c)
        for name, step in steps.items():
            idx = np.flatnonzero([name in mods for mods in modifiers])
            if idx.size:
                sub = c.take(idx)
                sub.rng = modifier_rng
                step(sub)
                c.put(idx, sub)
    return c.img


def render(
    subjects: list[str],
    times: list[str],
    modifiers: list[tuple[str, ...]] | None = None,
    seed: int = 0,
    size: int = NATIVE_SIZE,
) -> np.ndarray:
    """Images (N, H, W, 3) uint8 for given subjects, times of day and modifier tuples, varied by seed."""
    n = len(subjects)
    mods = [tuple(m) for m in modifiers] if modifiers is not None else [()] * n
    rng = np.random.default_rng([seed, 0x5CE7E5])
    out = np.zeros((n, size, size, 3), np.uint8)
    subj, tod = np.array(subjects), np.array(times)
    for s in SUBJECTS:
        for t in TIMES:
            idx = np.flatnonzero((subj == s) & (tod == t))
            if idx.size:
                img = paint_group(s, t, [mods[i] for i in idx], size, rng)
                out[idx] = np.moveaxis(to_uint8(img), 0, -1)
    return out


def to_uint8(img: np.ndarray) -> np.ndarray:
    """Linear floats to bytes, rounding, in place where it can."""
    np.clip(img, 0.0, 1.0, out=img)
    img *= 255.0
    img += 0.5
    return img.astype(np.uint8)


def generate(n: int, seed: int, size: int = NATIVE_SIZE) -> tuple[np.ndarray, list[dict]]:
    """n captioned landscapes (uint8 (N, H, W, 3)) and their labels, deterministic from the seed."""
    rng = np.random.default_rng([seed, 0xC0FFEE])
    labels = [draw_label(rng) for _ in range(n)]
    images = render(
        [lb["subject"] for lb in labels],
        [lb["time"] for lb in labels],
        [lb["modifiers"] for lb in labels],
        seed,
        size,
    )
    return images, labels
