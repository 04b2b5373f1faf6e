"""The value types of the language, and how errors name them."""

from __future__ import annotations

NUMBER, STRING, SIZE, SYMBOL = "number", "string", "size", "symbol"
LATENT, IMAGE, COND = "latent", "image", "cond"
LATENTS, IMAGES, CONDS = "latents", "images", "conds"  # sequences of frames
SCHEDULE, PROMPT_SCHEDULE = "schedule", "prompt_schedule"
LIST, RANGE, NOTHING = "list", "range", "nothing"

SEQUENCE_OF = {LATENT: LATENTS, IMAGE: IMAGES, COND: CONDS}
ELEMENT_OF = {v: k for k, v in SEQUENCE_OF.items()}

WORDS = {
    NUMBER: "a number",
    STRING: "a string",
    SIZE: "a size like 64x48",
    SYMBOL: "a word",
    LATENT: "a latent",
    IMAGE: "an image",
    COND: "a prompt",
    LATENTS: "a sequence of latents",
    IMAGES: "a sequence of images",
    CONDS: "a sequence of prompts",
    SCHEDULE: "a schedule like {0: 3, 24: 7.5}",
    PROMPT_SCHEDULE: 'a prompt schedule like {0: "dunes", 24: "ocean"}',
    LIST: "a list",
    RANGE: "a range like 0..9",
    NOTHING: "nothing",
}


def is_sequence(t: str) -> bool:
    return t in ELEMENT_OF


def words(types: tuple[str, ...] | list[str]) -> str:
    """'a number or a schedule like ...' for an error message."""
    names = [WORDS.get(t, t) for t in dict.fromkeys(types)]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
