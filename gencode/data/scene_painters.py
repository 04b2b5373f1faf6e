"""Painters of the `scenes` subjects on land: one function per subject, vectorised over a batch.

Input: a Canvas (numpy, see scene_canvas) whose sky is already drawn. Output: the subject painted
over it in place. Shapes are silhouettes (height profiles per column) and analytic distances, with
value-noise textures, so a 256 px batch paints at well over 100 images a second on one thread.
Water subjects (ocean, lake, island) live in scene_water, sky subjects (clouds, stars) in scene_sky.
"""

from __future__ import annotations

import numpy as np

from gencode.data.scene_canvas import Canvas, rgb


def fill_below(
    c: Canvas, top: np.ndarray, col: np.ndarray, land: bool | None = True, soft: float = 1.0
) -> np.ndarray:
    """Fill below the profile `top` (N, 1, W) with a colour (3, N, H|1, W|1); return its coverage.

    Only the rows the edge crosses are blended; rows below it are plain copies of the colour."""
    edge = np.clip(top, 0, 1)
    lo = max(0, int(edge.min() * c.size) - int(soft) - 1)
    hi = min(c.size, int(np.ceil(edge.max() * c.size)) + int(soft) + 1)
    alpha = np.zeros(c.land.shape, np.float32)
    alpha[:, hi:] = 1
    band = np.clip(0.5 + (c.y[:, lo:hi] - top) * (c.size / soft), 0.0, 1.0)
    alpha[:, lo:hi] = band
    rows = lambda a, r: a[:, :, r] if a.ndim == 4 and a.shape[2] > 1 else a  # noqa: E731
    img = c.img[:, :, lo:hi]
    img += (rows(col, slice(lo, hi)) - img) * band
    c.img[:, :, hi:] = rows(col, slice(hi, None))
    if land is not None:
        c.land[:, lo:hi] += ((1 - c.land[:, lo:hi]) if land else -c.land[:, lo:hi]) * band
        c.land[:, hi:] = 1.0 if land else 0.0
    return alpha


def layer(c: Canvas, top: np.ndarray, col: np.ndarray, shade: np.ndarray, fade: float) -> None:
    """Ground below `top` (N, 1, W) whose flank shading (N, 1, W) fades over `fade` below the ridge."""
    fill_below(c, top, col)
    shade_below(c, top, shade, fade)


def shade_below(c: Canvas, top: np.ndarray, shade: np.ndarray, fade: float) -> None:
    """Darken or lighten what lies below a ridge by a per-column shade fading over `fade`, so
    slopes read as faces rather than as vertical stripes."""
    b = c.band(top, np.max(top) + 3 * fade)
    falloff = np.exp(-np.maximum(b.y - top, 0) / fade)  # (N, h, W)
    b.img *= 1 + (shade - 1) * falloff * b.cover(top - b.y)


def slope_shade(c: Canvas, top: np.ndarray, strength: float, gain: float = 2.0) -> np.ndarray:
    """Light on one flank of a profile and shade on the other, (N, 1, W)."""
    slope = np.gradient(top, axis=2) * c.size
    side = np.where(c.sun_x > 0.5, -1.0, 1.0).astype(np.float32)  # flanks facing the sun are lit
    return (1 + strength * np.tanh(gain * slope * side)).astype(np.float32)


def ridge(c: Canvas) -> np.ndarray:
    """A jagged mountain profile in about [0, 1] (N, 1, W): octaves of triangle waves."""
    out = np.zeros((c.n, 1, c.size), np.float32)
    for weight, lo, hi in ((0.6, 1.2, 2.6), (0.28, 3.5, 6.0), (0.12, 9.0, 14.0)):
        t = c.u(lo, hi) * c.x + c.u(0, 1)
        out += weight * (1 - np.abs(2 * (t - np.floor(t)) - 1))
    return out


def dunes(c: Canvas) -> None:
    """Ridges of sand with sharp crests, lit on one flank, and wind ripples on the near ones."""
    sand = c.color((0.88, 0.62, 0.34), 0.1)
    layers = 4
    for k in range(layers):
        base = c.horizon + (1 - c.horizon) * (k / layers) * c.u(0.8, 1.1)
        t = c.u(0.6, 1.8) * c.x + c.u(0, 1)
        crest = np.abs(t - np.floor(t) - 0.5) * 2  # triangle wave: 0 on the crest, 1 in a trough
        top = base - (0.03 + 0.025 * k) * (1 - crest) ** 2 + c.wave(0.012, 0.3, 0.8)
        shade = slope_shade(c, top, 0.35, 2.0)
        layer(c, top, c.haze(c.lit(sand), 0.32 - 0.1 * k), shade, 0.04 + 0.03 * k)
    texture(c, c.horizon, 1 + 0.04 * np.sin(c.y * c.size * 0.9 + 6 * c.noise(3, 2)))


def texture(c: Canvas, top: np.ndarray, factor: np.ndarray) -> None:
    """Multiply the image below the height `top` (N, 1, 1) by a texture factor (N, H, W)."""
    lo = int(max(0.0, float(top.min())) * c.size)
    c.img[:, :, lo:] *= factor[:, lo:] if factor.shape[1] > 1 else factor


def mountains(c: Canvas) -> None:
    """Three ranges, far ones hazy, with snow caps, rock texture and a wooded foreground."""
    for k, rock in enumerate(((0.5, 0.54, 0.68), (0.42, 0.42, 0.48), (0.32, 0.3, 0.33))):
        height = c.u(0.28, 0.46) * (1 - 0.3 * k)
        base = c.horizon + k * c.u(0.06, 0.12)
        top = base - height * ridge(c)
        fill_below(c, top, c.haze(c.lit(c.color(rock)), 0.45 - 0.2 * k))
        snowline = base - height * c.u(0.45, 0.65) + 0.04 * c.noise_1d(8, 2)
        snow = c.haze(c.lit(c.color((0.95, 0.96, 1.0), 0.03)), 0.3 - 0.15 * k)
        b = c.band(top, snowline)
        b.over(snow, b.cover(top - b.y) * np.clip((snowline - b.y) * c.size * 0.5, 0, 1))
        shade_below(c, top, slope_shade(c, top, 0.3, 1.0), 0.07)
    trees = c.horizon + c.u(0.14, 0.22) - 0.05 * np.abs(c.noise_1d(24, 2))
    fill_below(c, trees, c.lit(c.foliage((0.1, 0.25, 0.12))))
    texture(c, c.horizon - 0.46, 1 + 0.1 * c.noise(6, 3))


def conifer_row(c: Canvas, count: int, base: np.ndarray, height: np.ndarray, col) -> None:
    """A row of pointed trees with jagged branch tiers standing on `base` (N, 1, 1)."""
    c = c.band(base - 1.2 * height, np.ones(1))
    cell = c.x * count + c.u(0, 1)  # (N, 1, W)
    idx = np.floor(cell)
    d = np.full(c.land.shape, 1.0, np.float32)
    near = np.where(cell - idx < 0.5, -1.0, 1.0)  # the neighbouring tree on this pixel's side
    for off in (0.0, near):
        k = idx + off
        jit = (np.sin(k * 12.9898 + c.u(0, 100)) * 43758.5453) % 1.0  # per-tree hash in [0, 1)
        cx = (k + 0.2 + 0.6 * jit) / count
        h = height * (0.65 + 0.5 * jit)  # (N, 1, W)
        apex = base - h
        below = np.maximum(c.y - apex, 0)  # (N, H, W)
        tiers = 0.75 + 0.25 * ((below / h * 5) % 1.0)  # branches widen towards each tier's foot
        half = below * 0.32 * tiers
        d = np.minimum(d, np.maximum(np.abs(c.x - cx) * count / count - half, apex - c.y))
    c.over(col, c.cover(d), True)


def forest(c: Canvas) -> None:
    """Green ground and rows of conifers, smaller and hazier towards the horizon."""
    fill_below(c, c.horizon + c.wave(0.01, 0.5, 1.5), c.lit(c.foliage((0.2, 0.38, 0.14))))
    rows = 4
    for k in range(rows):
        z = (k + 1) / rows
        base = c.horizon + 0.02 + z * (1 - c.horizon) * 0.8 + c.u(-0.02, 0.02)
        col = c.haze(c.lit(c.foliage((0.06, 0.26, 0.11), 0.15)), 0.35 * (1 - z))
        conifer_row(c, int(22 - 4 * k), base, 0.12 + 0.22 * z * c.u(0.8, 1.2), col)
    texture(c, c.horizon - 0.2, 1 + 0.1 * c.noise(16, 2))


def snowfield(c: Canvas) -> None:
    """Smooth rolling snow, white in front, blue-shadowed towards the horizon, over distant hills."""
    hills = c.horizon - c.u(0.02, 0.07) - 0.04 * np.abs(c.noise_1d(4, 2))
    fill_below(c, hills, c.haze(c.lit(c.color((0.55, 0.6, 0.72))), 0.4))
    for k, snow in enumerate(((0.78, 0.84, 0.97), (0.88, 0.92, 1.0), (0.96, 0.97, 1.0))):
        base = c.horizon + k * (1 - c.horizon) * c.u(0.2, 0.3)
        top = base + c.wave(0.025, 0.3, 1.0)
        col = c.color(snow, 0.03) * c.light**0.4  # snow stays white in coloured light
        col = col * (1 - 0.12 * np.clip(c.y - top, 0, 0.15) / 0.15)  # blue hollows at each foot
        fill_below(c, top, col)
        shade_below(c, top, slope_shade(c, top, 0.15), 0.05)


def meadow(c: Canvas) -> None:
    """Rolling grassy hills with grass texture and scattered flowers, and a far tree line."""
    trees = c.horizon - 0.02 - 0.03 * np.abs(c.noise_1d(20, 2))
    fill_below(c, trees, c.haze(c.lit(c.foliage((0.12, 0.3, 0.14))), 0.35))
    grass = c.noise(24, 2, 6)  # stretched sideways: blades read as horizontal streaks
    for k in range(3):
        top = c.horizon + k * (1 - c.horizon) * 0.28 + c.wave(0.03, 0.3, 1.1)
        col = c.lit(c.foliage((0.34, 0.6, 0.18), 0.12)) * slope_shade(c, top, 0.12)
        fill_below(c, top, c.haze(col * (1 + 0.12 * grass), 0.25 - 0.1 * k))
    k = int(180 * (c.size / 256))
    ys = c.horizon[:, :, 0] + (1 - c.horizon[:, :, 0]) * c.rng.uniform(0.3, 1, (c.n, k)) ** 0.7
    xs = c.rng.uniform(0, 1, (c.n, k))
    palette = np.asarray([(1, 0.95, 0.3), (1, 1, 1), (0.9, 0.3, 0.5), (0.6, 0.4, 0.95)], np.float32)
    cols = palette[c.rng.integers(0, 4, (c.n, k))].transpose(2, 0, 1) * c.light[..., 0]
    c.sprites(ys, xs, cols, 0.006, 0.9)


def canyon(c: Canvas) -> None:
    """Red rock walls with strata on both sides of a gorge, distant mesas, a river on its floor."""
    mesa = c.horizon - c.u(0.04, 0.12) * (np.abs(c.noise_1d(3, 1)) > 0.3)
    fill_below(c, mesa, c.haze(c.lit(c.color((0.72, 0.38, 0.24))), 0.5))
    fill_below(c, c.horizon, c.haze(c.lit(c.color((0.62, 0.42, 0.28))), 0.2))
    depth = np.clip((c.y - c.horizon) / (1 - c.horizon), 0, 1)  # (N, H, 1)
    mid = c.u(0.35, 0.65) + 0.05 * c.noise(2, 1)[:, :, :1] * depth
    gap = c.u(0.03, 0.08) + c.u(0.12, 0.3) * depth  # the gorge widens towards the viewer
    river = np.abs(c.x - mid) - gap * c.u(0.3, 0.5)
    water = c.lit(c.color((0.2, 0.42, 0.48))) + 0.35 * c.sky_bottom() * c.light
    c.over(water, c.cover(river) * (c.y > c.horizon), False)
    strata = np.sin(c.y * c.size * c.u(0.06, 0.12) + 3 * c.noise(4, 2)) * 0.5 + 0.5
    rock = c.lit(c.color((0.72, 0.34, 0.18), 0.1)) * (0.75 + 0.4 * strata)
    height = c.u(0.25, 0.45)
    away = np.abs(c.x - mid) - gap  # (N, H, W): distance from the gorge's edge
    top = (
        c.horizon
        + 0.01
        - height * np.clip(away / 0.3, 0, 1) ** 0.7
        - 0.03 * np.abs(c.noise_1d(8, 2))
    )
    side = np.where(c.x < mid, 1.0, 0.75).astype(np.float32)  # one wall in shade
    c.over(rock * side, c.cover(np.maximum(top - c.y, -away)), True)


def volcano(c: Canvas) -> None:
    """A dark cone with a glowing crater, lava rivulets and a plume of ash."""
    cx, half = c.u(0.3, 0.7), c.u(0.05, 0.09)
    h = c.u(0.3, 0.45)
    dx = np.abs(c.x - cx)
    cone = c.horizon - h * np.clip(1 - (dx - half) / c.u(0.35, 0.55), 0, 1) ** 1.4
    cone = np.where(dx < half, c.horizon - h + 0.02 * (1 - (dx / half) ** 2), cone)
    cone = cone + 0.01 * c.noise_1d(12, 2)
    plume_x = cx + (c.horizon - h - c.y) * c.u(-0.6, 0.6)  # the plume leans with the wind
    spread = 0.04 + 0.5 * np.clip(c.horizon - h - c.y, 0, 1)
    plume = np.exp(-(((c.x - plume_x) / spread) ** 2)) * (c.y < c.horizon - h + 0.02)
    plume = np.clip(plume * (0.8 + 0.6 * c.noise(5, 3)), 0, 1)
    c.over(c.lit(c.color((0.35, 0.33, 0.33))), plume * 0.85)
    rock = c.lit(c.color((0.2, 0.17, 0.16))) * slope_shade(c, cone, 0.25)
    inside = fill_below(c, cone, rock * (1 + 0.15 * c.noise(8, 2)))
    lava = rgb((1.0, 0.35, 0.05))
    glow = np.exp(-np.maximum(c.y - (c.horizon - h), 0) / 0.05) * np.exp(-((dx / half) ** 2))
    streams = np.clip(1 - np.abs(np.sin((c.x - cx) * c.u(25, 45) + 2 * c.noise(3, 1))) * 6, 0, 1)
    c.over(lava, np.clip(glow * 1.5 + streams * (c.y > c.horizon - h) * 0.8, 0, 1) * inside)
    c.img += np.exp(-np.hypot(c.x - cx, c.y - (c.horizon - h)) / 0.08) * lava * 0.35
    fill_below(c, c.horizon + 0.12 + c.wave(0.02, 0.5, 1.2), c.lit(c.color((0.16, 0.14, 0.13))))
