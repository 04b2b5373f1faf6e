"""Training progress: a tqdm bar with the smoothed loss, and plain lines in the run's train.log."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tqdm import tqdm

from gencode.train.recipe import Recipe


class Progress:
    """Shows and logs a training run; the log stays readable when the bar is not a terminal."""

    def __init__(self, recipe: Recipe, start: int, log_path: Path, enabled: bool = True):
        self.recipe = recipe
        self.log = open(log_path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self.bar = tqdm(
            total=recipe.steps,
            initial=start,
            disable=not enabled,
            desc=recipe.name,
            dynamic_ncols=True,
            mininterval=1.0 if sys.stderr.isatty() else 30.0,
        )
        self.smooth: float | None = None
        self.window: list[float] = []
        self.note(
            f"{'resuming' if start else 'starting'} {recipe.name} at step {start} "
            f"of {recipe.steps} ({recipe.source})"
        )

    def update(self, step: int, loss: float, seconds: float, lr: float) -> None:
        """Record one step's loss and time."""
        self.smooth = loss if self.smooth is None else 0.98 * self.smooth + 0.02 * loss
        self.window.append(seconds)
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{self.smooth:.4f}", refresh=False)
        if (step + 1) % self.recipe.log_every == 0:
            mean = sum(self.window) / len(self.window)
            self.note(f"step {step + 1} loss {self.smooth:.4f} lr {lr:.2e} {mean:.3f} s/step")
            self.window.clear()

    def note(self, text: str) -> None:
        """A timestamped line in the log (and above the bar)."""
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}"
        self.log.write(line + "\n")
        self.log.flush()
        if not self.bar.disable:
            self.bar.write(line, file=sys.stderr)

    def close(self) -> None:
        self.bar.close()
        self.log.close()
