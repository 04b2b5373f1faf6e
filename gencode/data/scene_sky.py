"""Painters of the `scenes` subjects that are mostly sky (clouds, stars) and the city skyline.

Input: a Canvas (numpy, see scene_canvas) whose sky is drawn. Output: the subject painted in place.
Clouds are thresholded value noise shaded from below; buildings are a per-column height profile
with a window grid, lit after dark.
"""

from __future__ import annotations

import numpy as np

from gencode.data.scene_canvas import Canvas, rgb, starlight
from gencode.data.scene_painters import fill_below

CLOUD_TINTS = {
    "dawn": (1.0, 0.84, 0.84),
    "day": (0.97, 0.97, 0.99),
    "dusk": (1.0, 0.62, 0.48),
    "night": (0.26, 0.28, 0.38),
}


def cloud_layer(c: Canvas, cover, top: float, bottom, tint, dark: float) -> np.ndarray:
    """Billowing clouds between heights top and bottom; returns their opacity (N, H, W)."""
    c = c.band(top, bottom)
    field = c.noise(4, 4, 5)  # (N, h, W)
    band = np.clip((c.y - top) / 0.08, 0, 1) * np.clip((bottom - c.y) / 0.12, 0, 1)
    density = np.clip((field + cover - 0.5) * 2.0, 0, 1) * band
    above = np.roll(density, max(1, c.size // 24), axis=1)  # cloud just above shades this pixel
    shade = 1.08 - dark * np.clip(above * 0.8 + (field + cover - 0.5) * 0.6, 0, 1)
    c.over(tint * shade, density)
    return density


def clouds(c: Canvas) -> None:
    """Heaps of billowing clouds filling the sky over a thin strip of land."""
    tint = c.color(CLOUD_TINTS[c.time], 0.04)
    cloud_layer(c, c.u(0.45, 0.65), 0.0, c.horizon - 0.02, tint, 0.35)
    fill_below(c, c.horizon + c.wave(0.01, 0.5, 1.5), c.lit(c.foliage((0.18, 0.3, 0.2))))


def stars(c: Canvas) -> None:
    """A dark starry sky with a glowing milky way over a black silhouette of hills."""
    t = np.clip(c.y / c.horizon, 0, 1)
    c.img *= 0.25 + 0.75 * t**3
    theta = c.u(0.3, np.pi - 0.3)
    band = (c.x - 0.5) * np.sin(theta) - (c.y - c.u(0.2, 0.5)) * np.cos(theta)
    wobble = 0.06 * c.noise(3, 2)
    glow = np.exp(-(((band + wobble) / c.u(0.06, 0.11)) ** 2)) * (0.6 + 0.5 * c.noise(8, 3))
    c.img += np.clip(glow, 0, 1.2) * c.color((0.24, 0.2, 0.32), 0.2)
    starlight(c, 900, (0.4, 1.0), 0.004)
    starlight(c, 40, (0.8, 1.0), 0.008)
    fill_below(c, c.horizon + c.wave(0.025, 0.5, 1.5), c.color((0.02, 0.02, 0.03), 0.0))


def skyline(c: Canvas, count: int, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Building index (N, 1, W) and roof height (N, 1, W) along a row of `count` buildings."""
    widths = c.rng.uniform(0.5, 1.5, (c.n, count)).astype(np.float32)
    edges = np.cumsum(widths, 1) / widths.sum(1, keepdims=True) * 1.1 - c.u(0, 0.1)[:, 0]
    idx = (c.x[0, 0][None, :, None] >= edges[:, None, :]).sum(-1)  # (N, W)
    idx = np.minimum(idx, count - 1)[:, None, :]
    heights = c.rng.uniform(lo, hi, (c.n, count)).astype(np.float32)
    return idx, c.horizon - np.take_along_axis(heights[:, None, :], idx, 2)


def city(c: Canvas) -> None:
    """A street and rows of buildings, the near ones with window grids lit after dark."""
    fill_below(c, c.horizon, c.lit(c.color((0.22, 0.22, 0.24))), False)
    lit_p = {"dawn": 0.25, "day": 0.0, "dusk": 0.5, "night": 0.7}[c.time]
    for k, (count, lo, hi, haze) in enumerate(((14, 0.3, 0.6, 0.5), (9, 0.12, 0.45, 0.0))):
        idx, roof = skyline(c, count, lo, hi)
        b = c.band(roof, c.horizon)
        wall = c.lit(c.color((0.3, 0.31, 0.37), 0.15)) * (0.85 + 0.3 * (idx % 3 == 1))
        inside = b.cover(np.maximum(roof - b.y, b.y - c.horizon))
        b.over(c.haze(wall, haze), inside, False)
        step = max(3.0 / 256, 2.5 / c.size) * (1 + k)  # window pitch, as a fraction of the image
        gx, gy = (c.x / step) % 1.0, ((b.y - roof) / (1.4 * step)) % 1.0
        window = (gx > 0.3) & (gx < 0.8) & (gy > 0.35) & (gy < 0.85) & (b.y > roof + step)
        cell = np.floor(c.x / step) * 7.13 + np.floor((b.y - roof) / (1.4 * step)) * 3.71 + idx
        on = ((np.sin(cell * 12.9898 + c.u(0, 100)) * 43758.5453) % 1.0) < lit_p
        col = np.where(on, rgb((1.0, 0.82, 0.45)), c.lit(rgb((0.5, 0.6, 0.75))))
        alpha = (window * inside * (0.9 if k else 0.35 + 0.4 * lit_p)).astype(np.float32)
        b.over(c.haze(col, haze), alpha)
