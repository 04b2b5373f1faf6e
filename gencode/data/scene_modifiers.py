"""Modifiers of the `scenes` dataset: things that compose with any subject (moon, mist, snow, ...).

Input: a Canvas (numpy, see scene_canvas) of the images that carry a modifier. Output: the modifier
painted in place. Each modifier has a `sky` step (run after the sky, before the subject: the aurora,
a rainbow, storm clouds, autumn's turned leaves) and/or an `air` step (run after the subject: the
moon, placed in open sky, mist, falling snow and rain, drifting leaves).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gencode.data.scene_canvas import AUTUMN_COLOURS, Canvas, rgb
from gencode.data.scene_sky import cloud_layer

Step = Callable[[Canvas], None]


def moon(c: Canvas) -> None:
    """A large moon with darker seas and a halo, in open sky away from the sun; pale by day.

    Painted after the subject, where its row is free of land, so no mountain or wall hides it."""
    r = c.u(0.05, 0.08)
    my = c.horizon * c.u(0.1, 0.3) + 0.02
    ii = np.arange(c.n)
    free = np.zeros((c.n, c.size), np.float32)
    for dy in (-1, 0, 1):
        row = np.clip(((my + dy * r) * c.size).astype(int)[:, 0, 0], 0, c.size - 1)
        free = np.maximum(free, c.land[ii, row])  # (N, W)
    near_sun = np.abs(c.x[0] - c.sun_x[:, 0]) < 0.2  # (N, W)
    edge = np.abs(c.x[0] - 0.5) > 0.5 - r[:, 0]
    score = free + near_sun + edge + 0.5 * c.rng.random((c.n, c.size))
    mx = ((score.argmin(1) + 0.5) / c.size).astype(np.float32)[:, None, None]
    c = c.band(my - 5 * r, my + 5 * r)
    d = np.hypot(c.x - mx, c.y - my)
    seas = np.clip(c.noise(3, 2) * 1.5, 0, 1)
    face = rgb((0.95, 0.94, 0.86)) * (1 - 0.25 * seas)
    sky = 1 - c.land
    if c.time == "day":
        c.over(face, c.cover(d - r) * sky * 0.7)
        return
    c.img += np.exp(-np.maximum(d - r, 0) / (1.5 * r)) * sky * np.float32(0.25) * face
    c.over(face, c.cover(d - r) * sky)


def aurora(c: Canvas) -> None:
    """Green curtains of light with violet tops, rippling across the upper sky."""
    foot = c.horizon * c.u(0.35, 0.6) + 0.12 * c.noise_1d(2, 2)  # (N, 1, W)
    tall = c.u(0.15, 0.3)
    above = (foot - c.y) / tall  # 0 at the curtain's foot, 1 at its top
    shape = np.exp(-np.maximum(above, 0) * 2.5) * np.clip(1 + above * 12, 0, 1)
    rays = 0.5 + 0.5 * np.clip(c.noise_1d(40, 2) * 1.8, -1, 1)
    glow = shape * rays * c.u(0.7, 1.0)  # (N, H, W)
    green = rgb((0.15, 1.0, 0.45))
    violet = rgb((0.6, 0.2, 0.9))
    mix = np.clip(above, 0, 1)
    c.img += glow * (green + (violet - green) * mix) * 0.8


# Rainbow colours from the outer edge inwards.
SPECTRUM = np.asarray(
    [
        (1, 0.1, 0.1),
        (1, 0.55, 0.1),
        (1, 0.95, 0.2),
        (0.2, 0.85, 0.3),
        (0.2, 0.45, 1),
        (0.5, 0.2, 0.85),
    ],
    np.float32,
).T  # (3, 6)


def rainbow(c: Canvas) -> None:
    """A rainbow arc standing on the horizon, opposite the sun."""
    cx = np.where(c.sun_x > 0.5, c.u(0.15, 0.45), c.u(0.55, 0.85))
    radius, width = c.u(0.3, 0.5), c.u(0.06, 0.09)
    c = c.band(c.horizon + 0.05 - radius, c.horizon)
    t = (radius - np.hypot(c.x - cx, c.y - c.horizon - 0.05)) / width  # 0 outside .. 1 inside
    k = np.clip(t * (SPECTRUM.shape[1] - 1), 0, SPECTRUM.shape[1] - 1.001)
    i = k.astype(int)
    f = k - i
    col = SPECTRUM[:, i] * (1 - f) + SPECTRUM[:, i + 1] * f  # (3, N, H, W)
    band = np.clip(np.minimum(t, 1 - t) * width * c.size * 1.5, 0, 1)
    fade = np.clip((c.horizon - c.y) / 0.1, 0, 1) * (0.6 if c.time == "day" else 0.5)
    c.over(col, band * fade)


def storm_sky(c: Canvas) -> None:
    """A sky darkened under low, heavy, grey clouds."""
    grey = c.color((0.3, 0.31, 0.34), 0.05) * np.maximum(c.light, 0.35)
    c.img += (grey * 0.8 - c.img) * np.float32(0.75)  # overcast: the sky's colour all but gone
    cloud_layer(c, c.u(0.6, 0.8), 0.0, c.horizon - 0.01, grey, 0.6)


def storm_air(c: Canvas) -> None:
    """Slanting rain over everything, the scene dimmed, and sometimes a lightning bolt."""
    c.img *= np.float32(0.7)
    slant = float(c.rng.uniform(-0.35, 0.35))
    streaks(c, int(700 * (c.size / 256) ** 1.3) + 20, 0.06, slant, (0.75, 0.78, 0.85), 0.35)
    bolt = c.rng.random(c.n) < 0.5
    if bolt.any():
        sub = c.take(np.flatnonzero(bolt))
        lightning(sub)
        c.put(np.flatnonzero(bolt), sub)


def streaks(c: Canvas, k: int, length: float, slant: float, color, opacity: float) -> None:
    """k short slanting lines per image (rain), each `length` of the image long."""
    steps = max(2, int(length * c.size))
    t = np.linspace(0, length, steps, dtype=np.float32)
    ys = c.rng.uniform(-length, 1, (c.n, k, 1)).astype(np.float32) + t
    xs = c.rng.uniform(0, 1, (c.n, k, 1)).astype(np.float32) + slant * t
    keep = (ys >= 0) & (ys < 1) & (xs >= 0) & (xs < 1)
    cols = np.broadcast_to(
        np.asarray(color, np.float32)[:, None, None] * np.maximum(c.light[..., 0], 0.4),
        (3, c.n, k * steps),
    )
    c.sprites(
        ys.reshape(c.n, -1),
        xs.reshape(c.n, -1),
        cols,
        0.6 / c.size,
        opacity * keep.reshape(c.n, -1),
    )


def lightning(c: Canvas) -> None:
    """A jagged bolt from the clouds towards the horizon, and its flash."""
    points, segments = max(48, 2 * c.size), 9
    ys = (
        np.linspace(0, 1, points, dtype=np.float32)[None, :]
        * c.horizon[:, :, 0]
        * c.u(0.7, 1)[:, :, 0]
    )
    nodes = np.cumsum(c.rng.normal(0, 0.05, (c.n, segments + 1)), 1) + c.u(0.2, 0.8)[:, :, 0]
    t = np.linspace(0, segments, points)
    i = np.minimum(t.astype(int), segments - 1)
    xs = nodes[:, i] + (nodes[:, i + 1] - nodes[:, i]) * (t - i)  # straight strokes between nodes
    xs = np.clip(xs, 0, 0.999).astype(np.float32)
    c.img *= np.float32(1.25)
    cols = np.broadcast_to(rgb((0.95, 0.9, 1.0))[..., 0], (3, c.n, points))
    c.sprites(ys, xs, cols, 1.6 / c.size, 1.0)


def mist(c: Canvas) -> None:
    """A bank of mist lying on the land around the horizon, thinning upwards, and a general haze."""
    fog = c.sky_bottom() * 0.5 + 0.5 * np.float32(0.85) * np.maximum(c.light, 0.45)
    centre = c.horizon + c.u(0.0, 0.08)
    thick = c.u(0.1, 0.2)
    bank = np.exp(-(((c.y - centre) / thick) ** 2)) * (0.8 + 0.25 * c.noise(8, 2, 2))  # wisps
    c.over(fog, np.clip(bank * c.u(0.75, 0.95) + 0.2, 0, 1))


def snow_sky(c: Canvas) -> None:
    """An overcast sky: the gradient pulled towards a grey-white."""
    grey = np.float32(0.8) * np.maximum(c.light, 0.25)
    c.img += (grey - c.img) * np.float32(0.55)


def snow_air(c: Canvas) -> None:
    """Snow lying on the land in drifts, and flakes falling in front of everything."""
    white = c.lit(rgb((0.95, 0.96, 1.0)))
    drifts = np.clip(0.9 + 0.25 * c.noise(4, 2), 0, 1)
    c.over(white, c.land * drifts * 0.88)
    k = int(500 * (c.size / 256) ** 1.3) + 15
    ys, xs = c.rng.uniform(0, 1, (2, c.n, k))
    near = c.rng.random((c.n, k)) < 0.2
    cols = np.broadcast_to(np.maximum(white[..., 0], 0.55), (3, c.n, k))
    c.sprites(ys, xs, cols, 0.004, 0.9 * ~near)
    c.sprites(ys, xs, cols, 0.009, 0.9 * near)


def autumn_sky(c: Canvas) -> None:
    """Autumn turns the subject's trees and grass (the painters read `autumn`)."""
    c.autumn[:] = 1


def autumn_air(c: Canvas) -> None:
    """Orange, red and gold leaves drifting down."""
    k = int(140 * (c.size / 256)) + 8
    ys = c.rng.uniform(0.05, 1, (c.n, k))
    xs = c.rng.uniform(0, 1, (c.n, k))
    cols = np.asarray(AUTUMN_COLOURS, np.float32).T[:, c.rng.integers(0, 3, (c.n, k))]
    c.sprites(ys, xs, cols * np.maximum(c.light[..., 0], 0.55), 0.01, 0.95)


# The steps in the order they are painted: weather changes the sky before lights appear in it,
# and mist lies under the falling snow, rain and leaves.
SKY_STEPS: dict[str, Step] = {
    "storm": storm_sky,
    "snow": snow_sky,
    "autumn": autumn_sky,
    "aurora": aurora,
    "rainbow": rainbow,
}
AIR_STEPS: dict[str, Step] = {
    "moon": moon,
    "mist": mist,
    "snow": snow_air,
    "storm": storm_air,
    "autumn": autumn_air,
}
