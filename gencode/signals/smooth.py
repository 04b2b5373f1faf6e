"""Smoothing: a stream of targets at frame times → a value that follows them without jumps.

A one-pole (exponential) follower with separate rise and fall times, as envelope followers and
controller smoothing in audio software do; with time 0 it passes targets through.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class Follower:
    rise: float  # seconds to cover ~63% of a step up
    fall: float  # and of a step down
    value: float = 0.0

    def step(self, target: float, dt: float) -> float:
        """Move toward `target` over `dt` seconds; the new value."""
        tau = self.rise if target > self.value else self.fall
        if tau <= 0 or dt <= 0:
            self.value = target if tau <= 0 else self.value
        else:
            self.value += (target - self.value) * (1.0 - math.exp(-dt / tau))
        return self.value
