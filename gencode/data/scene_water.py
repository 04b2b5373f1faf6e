"""Painters of the `scenes` subjects on water (ocean, lake, island), vectorised over a batch.

Input: a Canvas (numpy, see scene_canvas) whose sky is drawn. Output: the subject painted in place:
water with depth, wave texture stretched sideways, the sun's glitter path and mirrored shores.
"""

from __future__ import annotations

import numpy as np

from gencode.data.scene_canvas import Canvas, rgb
from gencode.data.scene_painters import fill_below


def sea(c: Canvas, calm: float = 1.0) -> None:
    """Open water below the horizon: depth gradient, waves, whitecaps and the sun's glitter path."""
    depth = np.clip((c.y - c.horizon) / (1 - c.horizon), 0, 1)  # (N, H, 1)
    deep = c.lit(c.color((0.04, 0.2, 0.42), 0.15))
    near = 0.45 * deep + 0.55 * c.sky_bottom() * c.light
    water = near + (deep - near) * depth**0.5
    waves = c.noise(10, 3, 2)  # wide, flat swells
    water = water * (1 + 0.18 * calm * waves)
    sun = rgb(c.palette["sun"])
    glitter = np.exp(-(((c.x - c.sun_x) / (0.04 + 0.12 * depth)) ** 2))
    glitter = glitter * np.clip(waves * 2, 0, 1) * (0.8 if c.time != "day" else 0.4)
    water = water + glitter * sun
    caps = np.clip(waves - 0.55, 0, 1) * 1.5 * calm * depth
    c.over(water + caps * c.light, c.cover(c.horizon - c.y), False)


def ocean(c: Canvas) -> None:
    """Open sea to a flat horizon, sometimes with a rocky headland, and a sandy beach in front."""
    sea(c)
    head = c.horizon - c.u(0.03, 0.1) * np.clip(c.noise_1d(2, 2) * 2 - 0.6, 0, 1)
    b = c.band(head, c.horizon)
    rock = c.haze(c.lit(c.color((0.3, 0.3, 0.32))), 0.35)
    b.over(rock, b.cover(np.maximum(head - b.y, b.y - c.horizon)), True)
    beach = c.u(0.85, 1.05) + c.wave(0.03, 0.3, 0.9)
    foam = np.exp(-(((c.y - beach) / 0.008) ** 2)) * (c.y < beach + 0.01)
    c.over(c.light, foam * 0.7)
    fill_below(c, beach, c.lit(c.color((0.86, 0.74, 0.52))))


def lake(c: Canvas) -> None:
    """Still water between wooded far hills and a grassy near shore, mirroring sky and hills."""
    hills = c.horizon - c.u(0.04, 0.12) - 0.04 * np.abs(c.noise_1d(5, 3))
    tex = 1 + 0.12 * c.noise(16, 2)
    hill_col = c.haze(c.lit(c.foliage((0.14, 0.3, 0.15))), 0.2) * tex
    c.over(hill_col, c.cover(hills - c.y) * (c.y < c.horizon), True)
    mirror = 2 * c.horizon - c.y  # (N, H, 1): the height a water pixel reflects
    reflected = np.flip(c.img, axis=2)  # a mirrored copy: row y shows row (1 - y)
    shift = np.clip(((1 - c.y) - mirror) * c.size, -c.size, c.size).astype(int)  # (N, H, 1)
    rows = np.clip(np.arange(c.size)[None, :, None] + shift, 0, c.size - 1)  # (N, H, 1)
    rows = rows + np.zeros((1, 1, c.size), int)
    ii = np.arange(c.n)[:, None, None]
    mirrored = reflected[:, ii, rows, np.arange(c.size)[None, None, :]]  # (3, N, H, W)
    ripple = 1 + 0.05 * c.noise(24, 1, 3)
    water = mirrored * 0.75 * ripple + c.lit(c.color((0.03, 0.1, 0.14)))
    c.over(water, c.cover(c.horizon - c.y), False)
    shore = c.u(0.86, 0.95) + c.wave(0.03, 0.3, 1.2)
    fill_below(c, shore, c.lit(c.foliage((0.26, 0.44, 0.18))) * tex)


def palm(c: Canvas, foot_x: np.ndarray, foot_y: np.ndarray, h: np.ndarray, col) -> None:
    """A leaning palm: a curved trunk and a crown of drooping fronds."""
    c = c.band(foot_y - 1.6 * h, foot_y + 0.01)
    lean = c.u(-0.25, 0.25)
    t = np.clip((foot_y - c.y) / h, 0, 1)  # 0 at the foot, 1 at the crown
    trunk_x = foot_x + lean * h * t**2
    trunk = np.maximum(
        np.abs(c.x - trunk_x) - 0.008 * (1.4 - t), np.maximum(c.y - foot_y, foot_y - h - c.y)
    )
    c.over(c.lit(c.color((0.35, 0.25, 0.15))), c.cover(trunk), True)
    cx, cy = foot_x + lean * h, foot_y - h
    ang = np.arctan2(c.y - cy, c.x - cx)
    r = np.hypot(c.x - cx, c.y - cy)
    reach = (
        h * 0.55 * (0.35 + 0.65 * np.abs(np.cos(3.5 * ang + c.u(0, 3)))) * (1 - 0.4 * np.sin(ang))
    )
    c.over(col, c.cover(r - reach) * (c.y < cy + 0.7 * reach), True)


def island(c: Canvas) -> None:
    """A small island in the open sea: a sandy shore ring, green hills and one or two palms."""
    sea(c, 0.6)
    cx, w = c.u(0.3, 0.7), c.u(0.18, 0.3)
    dx = (c.x - cx) / w
    hump = c.horizon + 0.02 - c.u(0.06, 0.14) * np.clip(1 - dx**2, 0, 1) ** 0.6
    hump = hump + 0.01 * c.noise_1d(8, 2) * (np.abs(dx) < 1)
    shore = c.horizon + 0.02 - 0.02 * np.clip(1 - (dx / 1.15) ** 2, 0, 1) ** 0.3
    b = c.band(hump, c.horizon + 0.03)
    foot = c.horizon + 0.015 + 0.01 * np.clip(1 - dx**2, 0, 1)
    sand = np.maximum(np.maximum(shore - b.y, b.y - foot), np.abs(dx) / 1.15 - 1)
    b.over(c.lit(c.color((0.9, 0.8, 0.55))), b.cover(sand), True)
    green = np.maximum(np.maximum(hump - b.y, b.y - foot + 0.006), np.abs(dx) - 1)
    b.over(c.lit(c.foliage((0.16, 0.42, 0.16))), b.cover(green), True)
    leaves = c.lit(c.foliage((0.1, 0.35, 0.12)))
    palm(c, cx + w * c.u(0.4, 0.8), c.horizon + 0.01, c.u(0.1, 0.16), leaves)
    palm(c, cx - w * c.u(0.2, 0.7), c.horizon + 0.0, c.u(0.07, 0.13), leaves)
    c.over(
        c.lit(c.sky_bottom() * 0.6),
        c.cover(np.abs(c.y - (c.horizon + 0.025)) - 0.003) * (np.abs(dx) < 1.2) * 0.5,
    )
