"""Painters for the `scenes` dataset: one function per subject, vectorised over a batch (numpy only).

Every painter takes a Canvas (the batch's sky already drawn, per-image horizon and lighting) and
paints its subject over it in place. Values are linear floats in [0, 1]; shapes get antialiased
edges from `cover`, a pixel-wide ramp on a signed distance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# Per time of day: sky top and horizon colours, the light that tints the ground, the sun's colour.
PALETTES: dict[str, dict[str, tuple[float, float, float]]] = {
    "dawn": {
        "top": (0.42, 0.52, 0.85),
        "bottom": (1.0, 0.74, 0.62),
        "light": (1.0, 0.84, 0.8),
        "sun": (1.0, 0.88, 0.6),
    },
    "day": {
        "top": (0.16, 0.42, 0.92),
        "bottom": (0.62, 0.8, 0.98),
        "light": (1.0, 1.0, 1.0),
        "sun": (1.0, 1.0, 0.88),
    },
    "dusk": {
        "top": (0.24, 0.13, 0.42),
        "bottom": (1.0, 0.42, 0.16),
        "light": (0.86, 0.6, 0.52),
        "sun": (1.0, 0.45, 0.15),
    },
    "night": {
        "top": (0.01, 0.015, 0.06),
        "bottom": (0.05, 0.08, 0.2),
        "light": (0.2, 0.24, 0.4),
        "sun": (0.92, 0.92, 0.84),
    },
}
# Horizon height range (fraction of the image from the top) per subject.
HORIZONS: dict[str, tuple[float, float]] = {
    "dunes": (0.38, 0.55),
    "mountains": (0.55, 0.7),
    "ocean": (0.42, 0.6),
    "forest": (0.5, 0.66),
    "clouds": (0.84, 0.95),
    "snowfield": (0.45, 0.62),
    "city": (0.8, 0.9),
    "stars": (0.82, 0.92),
    "lake": (0.42, 0.55),
}


@dataclass
class Canvas:
    """A batch being painted: images (N, H, W, 3), pixel-centre grids and per-image scene values."""

    img: np.ndarray  # (N, H, W, 3)
    y: np.ndarray  # (1, H, 1), 0 at the top
    x: np.ndarray  # (1, 1, W)
    size: int
    rng: np.random.Generator
    modifier: str
    horizon: np.ndarray  # (N, 1, 1)
    light: np.ndarray  # (N, 1, 1, 3)
    sun_x: np.ndarray  # (N, 1, 1)

    @property
    def n(self) -> int:
        return self.img.shape[0]

    def u(self, lo: float, hi: float, shape: tuple[int, ...] | None = None) -> np.ndarray:
        """Per-image uniform values, (N, 1, 1) unless a shape is given."""
        return self.rng.uniform(lo, hi, shape or (self.n, 1, 1)).astype(np.float32)

    def color(self, rgb: tuple[float, float, float], jitter: float = 0.08) -> np.ndarray:
        """A per-image colour (N, 1, 1, 3) near rgb, so no two images share exact colours."""
        c = np.asarray(rgb, np.float32) * (1 + jitter * self.rng.standard_normal((self.n, 3)))
        return c.astype(np.float32)[:, None, None, :]

    def cover(self, d: np.ndarray) -> np.ndarray:
        """Coverage in [0, 1] of a shape whose signed distance (negative inside) is d."""
        return np.clip(0.5 - d * self.size, 0.0, 1.0)

    def over(self, color: np.ndarray, alpha: np.ndarray) -> None:
        """Composite a colour (broadcastable to the image) with coverage alpha (N, H, W)."""
        self.img += (color - self.img) * alpha[..., None]


def wave(c: Canvas, amp: float, f_lo: float, f_hi: float) -> np.ndarray:
    """A random smooth profile (N, 1, W): two sines of random frequency and phase."""
    f1, f2 = c.u(f_lo, f_hi), c.u(2 * f_lo, 2 * f_hi)
    p1, p2 = c.u(0, 2 * np.pi), c.u(0, 2 * np.pi)
    return amp * (np.sin(2 * np.pi * f1 * c.x + p1) + 0.4 * np.sin(2 * np.pi * f2 * c.x + p2))


def ground(c: Canvas, top: np.ndarray, rgb, jitter: float = 0.08, haze: float = 0.0) -> np.ndarray:
    """Fill below the profile `top` (N, 1, W) with a lit colour; return its coverage (N, H, W)."""
    alpha = c.cover(top - c.y)
    col = c.color(rgb, jitter) * c.light
    if haze:
        col = col + (sky_bottom(c) - col) * haze
    c.over(col, alpha)
    return alpha


def sky_bottom(c: Canvas) -> np.ndarray:
    """The sky colour at the horizon, (1, 1, 1, 3) (for haze on distant shapes)."""
    return np.asarray(PALETTES[c.modifier]["bottom"], np.float32)[None, None, None, :]


def dunes(c: Canvas) -> None:
    """Three ridges of sand, each lit on one flank and shaded on the other."""
    for k in range(3):
        base = c.horizon + k * (1 - c.horizon) * c.u(0.22, 0.34)
        top = base + wave(c, 0.04 + 0.015 * k, 0.6, 1.8)
        slope = np.gradient(top, axis=2) * c.size
        shade = 0.78 + 0.3 * np.tanh(3 * slope)[..., None]  # (N, 1, W, 1)
        col = c.color((0.88, 0.62, 0.34)) * c.light * shade
        col = col + (sky_bottom(c) - col) * (0.3 - 0.13 * k)
        c.over(col, c.cover(top - c.y))


def _ridge(c: Canvas) -> np.ndarray:
    """A jagged mountain profile in [0, 1] (N, 1, W): octaves of triangle waves."""
    out = np.zeros((c.n, 1, c.size), np.float32)
    for weight, lo, hi in ((0.6, 1.2, 2.6), (0.3, 3.5, 6.0), (0.1, 9.0, 14.0)):
        t = c.u(lo, hi) * c.x + c.u(0, 1)
        out += weight * (1 - np.abs(2 * (t - np.floor(t)) - 1))
    return out


def mountains(c: Canvas) -> None:
    """A far hazy range and a near dark one, both snow-capped."""
    for k, rgb in enumerate(((0.45, 0.5, 0.64), (0.34, 0.32, 0.36))):
        height = c.u(0.3, 0.48) * (1 - 0.35 * k)
        base = c.horizon + k * c.u(0.08, 0.18)
        top = base - height * _ridge(c)
        inside = c.cover(top - c.y)
        slope = np.gradient(top, axis=2) * c.size
        shade = 0.8 + 0.25 * np.tanh(2 * slope)[..., None]
        col = c.color(rgb) * c.light * shade
        c.over(col + (sky_bottom(c) - col) * (0.35 - 0.3 * k), inside)
        snowline = base - height * c.u(0.55, 0.7)
        c.over(c.color((0.95, 0.96, 1.0), 0.03) * c.light * shade, inside * c.cover(c.y - snowline))


def ocean(c: Canvas) -> None:
    """Open water to a flat horizon: depth gradient, wave glints and the sun's reflection."""
    depth = np.clip((c.y - c.horizon) / (1 - c.horizon), 0, 1)[..., None]  # (N, H, 1, 1)
    deep = c.color((0.04, 0.18, 0.42)) * c.light
    near = 0.5 * deep + 0.5 * sky_bottom(c) * c.light
    water = near + (deep - near) * depth**0.6
    phase = (
        c.u(0, 6.3)
        + 1.5 / (np.maximum(c.y - c.horizon, 0) + 0.04)
        + 0.8 * np.sin(7 * c.x + c.u(0, 6.3))
    )
    glint = np.clip(np.sin(phase) - 0.55, 0, 1)[..., None] * 0.35
    sun = np.asarray(PALETTES[c.modifier]["sun"], np.float32)
    path = np.exp(-(((c.x - c.sun_x) / 0.07) ** 2))[..., None] * (
        0.6 if c.modifier != "day" else 0.3
    )
    water = water + glint * (0.3 * c.light + path * sun)
    c.over(water, c.cover(c.horizon - c.y))


def forest(c: Canvas) -> None:
    """Green ground and rows of conifers, smaller and hazier towards the horizon."""
    ground(c, c.horizon + wave(c, 0.01, 0.5, 1.5), (0.22, 0.42, 0.16))
    k_max = 20
    count = c.rng.integers(9, k_max + 1, (c.n, 1, 1))
    depth = np.sort(c.u(0, 1, (c.n, k_max)), axis=1)  # back to front
    for k in range(k_max):
        z = depth[:, k, None, None]
        base = c.horizon + 0.04 + z * (1 - c.horizon - 0.02)
        height = 0.16 + 0.4 * z
        apex, tx = base - height, c.u(-0.05, 1.05)
        d = np.maximum(np.abs(c.x - tx) - 0.3 * height * (c.y - apex) / height, apex - c.y)
        d = np.maximum(d, c.y - base)
        col = c.color((0.06, 0.27, 0.11), 0.15) * c.light
        col = col + (sky_bottom(c) - col) * (0.3 * (1 - z[..., None]))
        c.over(col, c.cover(d) * (k < count))


def clouds(c: Canvas) -> None:
    """Heaps of round clouds filling the sky over a thin strip of land."""
    ground(c, c.horizon + wave(c, 0.01, 0.5, 1.5), (0.18, 0.3, 0.2))
    tint = {
        "dawn": (1.0, 0.86, 0.86),
        "day": (0.97, 0.97, 0.99),
        "dusk": (1.0, 0.66, 0.52),
        "night": (0.3, 0.32, 0.42),
    }[c.modifier]
    for _ in range(c.rng.integers(4, 7)):
        cx, cy = c.u(-0.05, 1.05), c.u(0.12, 0.62) * c.horizon
        col = c.color(tint, 0.04)
        for _ in range(4):
            px, py, r = cx + c.u(-0.13, 0.13), cy + c.u(-0.04, 0.04), c.u(0.05, 0.12)
            dist = np.sqrt((c.x - px) ** 2 + (c.y - py) ** 2) - r
            shade = 1 - 0.28 * np.clip((c.y - py) / r, 0, 1)[..., None]
            c.over(col * shade, c.cover(dist))


def snowfield(c: Canvas) -> None:
    """Smooth rolling snow, white in front, blue-shadowed towards the horizon."""
    for k, rgb in enumerate(((0.8, 0.86, 0.98), (0.9, 0.93, 1.0), (0.97, 0.98, 1.0))):
        base = c.horizon + k * (1 - c.horizon) * c.u(0.2, 0.3)
        ground(c, base + wave(c, 0.02, 0.3, 1.0), rgb, 0.03)


def city(c: Canvas) -> None:
    """A street and two rows of buildings with windows, lit after dark."""
    ground(c, c.horizon, (0.2, 0.2, 0.22))
    lit_p = {"dawn": 0.25, "day": 0.0, "dusk": 0.5, "night": 0.7}[c.modifier]
    win_col: np.ndarray = np.where(
        c.rng.random((c.n, c.size, c.size, 1)) < lit_p,
        np.asarray([1.0, 0.85, 0.45], np.float32),
        np.asarray([0.5, 0.6, 0.75], np.float32) * c.light,
    )
    row = np.arange(c.size)
    grid = ((row[:, None] % 2 == 0) & (row[None, :] % 3 != 2))[None]  # (1, H, W)
    for k, (lo, hi, haze) in enumerate(((0.3, 0.65, 0.45), (0.12, 0.45, 0.0))):
        x0 = c.u(-0.1, 0.0)
        for _ in range(12):
            w, top = c.u(0.07, 0.16), c.horizon - c.u(lo, hi)
            d = np.maximum(np.maximum(x0 - c.x, c.x - (x0 + w)), top - c.y)
            d = np.maximum(d, c.y - c.horizon)
            col = c.color((0.3, 0.31, 0.37), 0.12) * c.light
            c.over(col + (sky_bottom(c) - col) * haze, c.cover(d))
            if k == 1:
                c.over(win_col, (c.cover(d + 1.0 / c.size) * grid))
            x0 = x0 + w + c.u(0.0, 0.03)


def stars(c: Canvas) -> None:
    """A dark starry sky with a faint milky way over a black silhouette of hills."""
    t = np.clip(c.y / c.horizon, 0, 1)[..., None]
    c.img *= 0.25 + 0.75 * t**3
    theta = c.u(0, np.pi)
    band = np.abs((c.x - 0.5) * np.sin(theta) - (c.y - 0.4) * np.cos(theta))
    c.img += np.exp(-((band / 0.09) ** 2))[..., None] * c.color((0.16, 0.14, 0.22), 0.2)
    starlight(c, density=0.09, bright=(0.5, 1.0))
    ground(c, c.horizon + wave(c, 0.025, 0.5, 1.5), (0.02, 0.02, 0.03), 0.0)


def lake(c: Canvas) -> None:
    """Still water between wooded far hills and a grassy near shore, mirroring sky and hills."""
    hills = c.horizon - c.u(0.04, 0.1) - wave(c, 0.03, 0.5, 1.5).clip(-0.03, 1)
    hill_col = c.color((0.14, 0.3, 0.15)) * c.light
    c.over(hill_col, c.cover(hills - c.y) * (c.y < c.horizon))
    mirror = 2 * c.horizon - c.y  # (N, H, 1): the sky point a water pixel reflects
    pal = PALETTES[c.modifier]
    top, bottom = (np.asarray(pal[k], np.float32) for k in ("top", "bottom"))
    t = np.clip(mirror / c.horizon, 0, 1)[..., None] ** 0.8
    water = (top + (bottom - top) * t) * 0.8 + c.color((0.05, 0.15, 0.2)) * c.light
    water = np.where(c.cover(hills - mirror)[..., None] > 0.5, hill_col * 0.7, water)
    ripple = 1 + 0.06 * np.sin(c.y * c.size * 2.1 + c.u(0, 6.3))[..., None]
    c.over(water * ripple, c.cover(c.horizon - c.y))
    ground(c, c.u(0.84, 0.92) + wave(c, 0.03, 0.3, 1.2), (0.26, 0.44, 0.18))


def starlight(c: Canvas, density: float, bright: tuple[float, float]) -> None:
    """Scatter single-pixel stars above the horizon."""
    k = max(1, int(density * c.size * c.size))
    ys, xs = c.rng.integers(0, c.size, (2, c.n, k))
    b = c.rng.uniform(*bright, (c.n, k)).astype(np.float32)
    b *= (ys + 0.5) / c.size < c.horizon[:, :, 0]
    ii = np.arange(c.n)[:, None]
    c.img[ii, ys, xs] = np.maximum(c.img[ii, ys, xs], b[..., None])


def sky(c: Canvas) -> None:
    """A vertical gradient from the palette's top colour to its horizon colour, plus sun or moon."""
    pal = PALETTES[c.modifier]
    top, bottom = c.color(pal["top"], 0.06), c.color(pal["bottom"], 0.06)
    t = np.clip(c.y / c.horizon, 0, 1)[..., None] ** 0.8  # (N, H, 1, 1)
    c.img[:] = top + (bottom - top) * t
    if c.modifier == "night":
        starlight(c, density=0.015, bright=(0.3, 0.8))
    low = c.modifier in ("dawn", "dusk")
    r = c.u(0.04, 0.07) if c.modifier == "night" else c.u(0.05, 0.09)
    sy = c.horizon - (c.u(0.02, 0.1) if low else c.u(0.45, 0.8) * c.horizon)
    dist = np.sqrt((c.x - c.sun_x) ** 2 + (c.y - sy) ** 2) - r
    sun = np.asarray(pal["sun"], np.float32)
    if c.modifier != "night":
        c.img += np.exp(-np.maximum(dist, 0) / 0.12)[..., None] * sun * 0.35
    c.over(sun, c.cover(dist) * (c.u(0, 1) < (0.6 if c.modifier == "night" else 0.9)))


PAINTERS: dict[str, Callable[[Canvas], None]] = {
    "dunes": dunes,
    "mountains": mountains,
    "ocean": ocean,
    "forest": forest,
    "clouds": clouds,
    "snowfield": snowfield,
    "city": city,
    "stars": stars,
    "lake": lake,
}


def paint_scene(subject: str, modifier: str, n: int, size: int, rng: np.random.Generator):
    """n images (N, H, W, 3) float32 of one subject at one time of day."""
    grid = (np.arange(size, dtype=np.float32) + 0.5) / size
    c = Canvas(
        img=np.zeros((n, size, size, 3), np.float32),
        y=grid[None, :, None],
        x=grid[None, None, :],
        size=size,
        rng=rng,
        modifier=modifier,
        horizon=rng.uniform(*HORIZONS[subject], (n, 1, 1)).astype(np.float32),
        light=np.ones((n, 1, 1, 3), np.float32),
        sun_x=rng.uniform(0.1, 0.9, (n, 1, 1)).astype(np.float32),
    )
    c.light = c.color(PALETTES[modifier]["light"], 0.05)
    if subject != "stars":
        sky(c)
    else:
        c.img[:] = 0
        sky_gradient_only(c)
    PAINTERS[subject](c)
    return c.img


def sky_gradient_only(c: Canvas) -> None:
    """The sky's gradient without sun or moon (a starfield keeps its sky dark)."""
    pal = PALETTES[c.modifier]
    top, bottom = c.color(pal["top"], 0.06), c.color(pal["bottom"], 0.06)
    t = np.clip(c.y / c.horizon, 0, 1)[..., None] ** 0.8
    c.img[:] = top + (bottom - top) * t
