"""The `scenes` dataset: procedural landscapes with captions, deterministic from a seed (numpy only).

generate(n, seed, size) → uint8 images (N, H, W, 3) and labels {"subject", "modifier", "caption"}.
Nine subjects crossed with four times of day; each image also varies its horizon, shapes and colours.
Shapes are drawn with analytic antialiasing (coverage from a signed distance in pixels), so no
supersampling is needed and a 32x32 batch renders at several thousand images per second.
"""

from __future__ import annotations

import numpy as np

from gencode.data import scene_painters as sp
from gencode.data.words import tokenize_with

SUBJECTS: tuple[str, ...] = (
    "dunes",
    "mountains",
    "ocean",
    "forest",
    "clouds",
    "snowfield",
    "city",
    "stars",
    "lake",
)
MODIFIERS: tuple[str, ...] = ("dawn", "day", "dusk", "night")
VOCABULARY: tuple[str, ...] = SUBJECTS + MODIFIERS
# Other words people will type for the same things; they map onto the vocabulary.
ALIASES: dict[str, str] = {
    "dune": "dunes",
    "desert": "dunes",
    "sand": "dunes",
    "mountain": "mountains",
    "peaks": "mountains",
    "sea": "ocean",
    "waves": "ocean",
    "woods": "forest",
    "trees": "forest",
    "cloud": "clouds",
    "cloudy": "clouds",
    "snow": "snowfield",
    "snowy": "snowfield",
    "skyline": "city",
    "buildings": "city",
    "starfield": "stars",
    "starry": "stars",
    "pond": "lake",
    "sunrise": "dawn",
    "morning": "dawn",
    "daytime": "day",
    "noon": "day",
    "sunset": "dusk",
    "evening": "dusk",
    "nighttime": "night",
    "midnight": "night",
}
# Words that only frame a picture; dropped rather than reported as unknown.
FILLERS = frozenset({"scene", "landscape", "view", "picture", "image", "photo", "sky", "time"})
# A starfield needs a dark sky: it is never drawn by day.
ALLOWED_MODIFIERS: dict[str, tuple[str, ...]] = {"stars": ("dawn", "dusk", "night")}
# How a subject reads inside a sentence.
_NOUNS: dict[str, tuple[str, ...]] = {
    "dunes": ("dunes", "sand dunes"),
    "mountains": ("mountains", "the mountains"),
    "ocean": ("the ocean", "an ocean", "the sea"),
    "forest": ("a forest", "the forest", "forest"),
    "clouds": ("clouds", "cloudy sky"),
    "snowfield": ("a snowfield", "snowfield", "snow"),
    "city": ("a city", "a city skyline", "city"),
    "stars": ("stars", "a starry sky", "starfield"),
    "lake": ("a lake", "the lake", "lake"),
}


def tokenize(prompt: str) -> tuple[list[str], list[str]]:
    """(known vocabulary words in canonical form, unknown words) of a prompt."""
    known, unknown = tokenize_with(prompt, VOCABULARY, ALIASES)
    return known, [w for w in unknown if w not in FILLERS]


def caption(subject: str, modifier: str, rng: np.random.Generator) -> str:
    """A caption in varied phrasing; some name only the subject or only the time of day."""
    noun = str(rng.choice(_NOUNS[subject]))
    r = rng.random()
    if r < 0.2:
        return noun
    if r < 0.3:
        return str(rng.choice([modifier, f"a scene at {modifier}", f"{modifier} landscape"]))
    bare = noun.split(" ", 1)[1] if noun.startswith(("a ", "an ", "the ")) else noun
    forms = [f"{noun} at {modifier}", f"{noun}, {modifier}", f"{modifier} {bare}"]
    return str(rng.choice(forms))


def draw_labels(n: int, rng: np.random.Generator) -> list[dict]:
    """n balanced-at-random (subject, modifier, caption) labels."""
    labels = []
    for _ in range(n):
        subject = SUBJECTS[rng.integers(len(SUBJECTS))]
        mods = ALLOWED_MODIFIERS.get(subject, MODIFIERS)
        modifier = mods[rng.integers(len(mods))]
        labels.append(
            {"subject": subject, "modifier": modifier, "caption": caption(subject, modifier, rng)}
        )
    return labels


def render(subjects: list[str], modifiers: list[str], seed: int, size: int = 32) -> np.ndarray:
    """Images (N, H, W, 3) uint8 for given subjects and modifiers, varied from the seed."""
    n = len(subjects)
    rng = np.random.default_rng([seed, 0x5CE7E5])
    out = np.zeros((n, size, size, 3), np.float32)
    subj = np.array(subjects)
    mods = np.array(modifiers)
    for s in SUBJECTS:
        for m in MODIFIERS:
            idx = np.flatnonzero((subj == s) & (mods == m))
            if idx.size:
                out[idx] = sp.paint_scene(s, m, len(idx), size, rng)
    return (np.clip(out, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def generate(n: int, seed: int, size: int = 32) -> tuple[np.ndarray, list[dict]]:
    """n captioned landscapes (uint8 (N, H, W, 3)) and their labels, deterministic from the seed."""
    rng = np.random.default_rng([seed, 0xC0FFEE])
    labels = draw_labels(n, rng)
    images = render([lb["subject"] for lb in labels], [lb["modifier"] for lb in labels], seed, size)
    return images, labels
