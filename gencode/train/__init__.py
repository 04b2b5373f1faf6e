"""Training: `gencode train RECIPE` dispatches on the recipe's model family.

Each family module exposes `train(recipe, *, resume: bool, progress: bool) -> Path` (the checkpoint).
"""

from __future__ import annotations

from gencode.models.families import TRAINERS

FAMILIES = TRAINERS  # recipe family → training module (the family table says)
