"""Seed behaviours for animations (as animators know them from Deforum), torch-free."""

from __future__ import annotations

import hashlib
import random

SEED_MAX = 2**63 - 1  # seeds are exact integers in [0, SEED_MAX] everywhere (never floats)


def hash_seed(text: str) -> int:
    """A seed derived from `text` (sha256, 63 bits): stable across runs and machines."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") & SEED_MAX


def seed_sequence(mode: str, seed: int, frames: int, every: int = 1) -> list[int]:
    """The seed of each frame: fixed, iter (+1 every `every` frames), ladder (+2, −1, ...),
    alternate (seed, seed+1, ...), or random (drawn from a generator seeded with `seed`)."""
    if mode == "fixed":
        return [seed] * frames
    if mode == "iter":
        return [seed + i // every for i in range(frames)]
    if mode == "ladder":
        return [seed + (i + 1) // 2 + (i % 2) for i in range(frames)]
    if mode == "alternate":
        return [seed + (i % 2) for i in range(frames)]
    if mode == "random":
        rng = random.Random(seed)
        return [seed] + [rng.randrange(2**32) for _ in range(frames - 1)]
    raise ValueError(f"unknown seed mode {mode!r}")
