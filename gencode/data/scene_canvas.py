"""The canvas the `scenes` painters draw on: a batch of images plus per-image scene values (numpy only).

Input: a subject's horizon range, a time of day, a random generator. Output: a Canvas whose sky is
painted, with helpers the painters share — antialiased coverage from signed distances, smooth value
noise (interpolation matrices, so a 256 px field costs two small matrix products), soft sprites
scattered by index (stars, flakes, leaves) and a record of which pixels are land (for snow).
Values are linear floats in [0, 1]; every array is float32 and vectorised over the batch. Images
are channel-first (3, N, H, W) and colours (3, N, 1, 1), so a field such as coverage or a texture
(N, H, W) broadcasts against a colour with a contiguous inner loop (a trailing axis of 3 would make
numpy ten times slower)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

RGB = tuple[float, float, float]

# Per time of day: sky top and horizon colours, the light that tints the ground, the sun's colour.
PALETTES: dict[str, dict[str, RGB]] = {
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
# Autumn foliage: each autumn image draws its trees and grass from these.
AUTUMN_COLOURS: tuple[RGB, ...] = ((0.85, 0.42, 0.08), (0.78, 0.2, 0.06), (0.9, 0.66, 0.12))


def rgb(color: RGB) -> np.ndarray:
    """A constant colour as a (3, 1, 1, 1) array."""
    return np.asarray(color, np.float32)[:, None, None, None]


@lru_cache(maxsize=64)
def interp_matrix(size: int, cells: int) -> np.ndarray:
    """(size, cells + 1) weights that smoothly interpolate cells + 1 lattice values to size pixels."""
    t = (np.arange(size) + 0.5) / size * cells
    i = np.floor(t).astype(int)
    f = t - i
    f = f * f * (3 - 2 * f)  # smoothstep: no creases along lattice lines
    m = np.zeros((size, cells + 1), np.float32)
    m[np.arange(size), i] = 1 - f
    m[np.arange(size), np.minimum(i + 1, cells)] += f
    return m


@dataclass
class Canvas:
    """A batch being painted: images (N, H, W, 3), pixel-centre grids and per-image scene values."""

    img: np.ndarray  # (3, N, H, W)
    y: np.ndarray  # (1, H, 1), 0 at the top
    x: np.ndarray  # (1, 1, W)
    size: int
    rng: np.random.Generator
    time: str
    horizon: np.ndarray  # (N, 1, 1)
    light: np.ndarray  # (3, N, 1, 1)
    sun_x: np.ndarray  # (N, 1, 1)
    autumn: np.ndarray  # (N, 1, 1): 1 where foliage turns
    land: np.ndarray = field(init=False)  # (N, H, W): coverage of ground snow may settle on
    row0: int = 0  # the first row of the image this canvas shows (a band of a larger one)

    def __post_init__(self) -> None:
        self.land = np.zeros(self.img.shape[1:], np.float32)

    def take(self, idx: np.ndarray) -> Canvas:
        """A canvas of some of the images (copies); `put` writes its pixels back."""
        sub = Canvas(
            self.img[:, idx], self.y, self.x, self.size, self.rng, self.time, self.horizon[idx],
            self.light[:, idx], self.sun_x[idx], self.autumn[idx], self.row0,
        )  # fmt: skip
        sub.land = self.land[idx]
        return sub

    def band(self, top: float | np.ndarray, bottom: float | np.ndarray) -> Canvas:
        """A view of the rows between heights top and bottom (of every image); paint goes through.

        Shapes that only cover a strip are drawn on their strip: the work shrinks with its height."""
        rows = self.img.shape[2]
        lo = min(rows, max(0, int(float(np.min(top)) * self.size) - 1 - self.row0))
        hi = max(lo, min(rows, int(np.ceil(float(np.max(bottom)) * self.size)) + 1 - self.row0))
        sub = Canvas(
            self.img[:, :, lo:hi], self.y[:, lo:hi], self.x, self.size, self.rng, self.time,
            self.horizon, self.light, self.sun_x, self.autumn, self.row0 + lo,
        )  # fmt: skip
        sub.land = self.land[:, lo:hi]
        return sub

    def put(self, idx: np.ndarray, sub: Canvas) -> None:
        """Write back the pixels and land of a canvas made by `take`."""
        self.img[:, idx] = sub.img
        self.land[idx] = sub.land
        self.autumn[idx] = sub.autumn

    @property
    def n(self) -> int:
        return self.img.shape[1]

    @property
    def palette(self) -> dict[str, RGB]:
        return PALETTES[self.time]

    def u(self, lo: float, hi: float, shape: tuple[int, ...] | None = None) -> np.ndarray:
        """Per-image uniform values, (N, 1, 1) unless a shape is given."""
        return self.rng.uniform(lo, hi, shape or (self.n, 1, 1)).astype(np.float32)

    def color(self, rgb: RGB, jitter: float = 0.08) -> np.ndarray:
        """A per-image colour (3, N, 1, 1) near rgb, so no two images share exact colours."""
        c = np.asarray(rgb, np.float32)[:, None] * (
            1 + jitter * self.rng.standard_normal((3, self.n))
        )
        return c.astype(np.float32)[:, :, None, None]

    def foliage(self, rgb: RGB, jitter: float = 0.1) -> np.ndarray:
        """A leaf or grass colour (3, N, 1, 1): rgb, or an autumn colour where autumn is set."""
        turned = np.asarray(AUTUMN_COLOURS, np.float32)[self.rng.integers(0, 3, self.n)].T
        turned = turned[:, :, None, None] * (
            1 + jitter * self.rng.standard_normal((3, self.n, 1, 1))
        )
        green = self.color(rgb, jitter)
        return (green + (turned.astype(np.float32) - green) * self.autumn).astype(np.float32)

    def lit(self, rgb: np.ndarray) -> np.ndarray:
        """A surface colour as the time of day lights it."""
        return rgb * self.light

    def cover(self, d: np.ndarray) -> np.ndarray:
        """Coverage in [0, 1] of a shape whose signed distance (negative inside) is d."""
        return np.clip(0.5 - d * self.size, 0.0, 1.0)

    def over(self, color: np.ndarray, alpha: np.ndarray, land: bool | None = None) -> None:
        """Composite a colour (3, N|1, H|1, W|1) with coverage alpha (N, H, W).

        land=True records the shape as ground snow can settle on; False as a surface it cannot."""
        self.img += (color - self.img) * alpha
        if land is True:
            self.land += (1 - self.land) * alpha
        elif land is False:
            self.land *= 1 - alpha

    def haze(self, col: np.ndarray, amount: float | np.ndarray) -> np.ndarray:
        """A colour faded towards the horizon's sky colour (aerial perspective)."""
        return col + (self.sky_bottom() - col) * amount

    def sky_bottom(self) -> np.ndarray:
        """The sky colour at the horizon, (3, 1, 1, 1)."""
        return rgb(self.palette["bottom"])

    def noise(self, cells: int, octaves: int = 3, cells_x: int | None = None) -> np.ndarray:
        """Smooth fractal value noise (N, H, W), roughly in [-1, 1]; cells_x stretches it."""
        out = np.zeros(self.img.shape[1:], np.float32)
        cy, cx, amp = cells, cells_x or cells, 1.0
        for _ in range(octaves):
            lattice = self.rng.uniform(-1, 1, (self.n, cy + 1, cx + 1)).astype(np.float32)
            rows = interp_matrix(self.size, cy)[self.row0 : self.row0 + self.img.shape[2]]
            out += amp * (rows @ lattice @ interp_matrix(self.size, cx).T)
            cy, cx, amp = 2 * cy, 2 * cx, amp * 0.5
        return out

    def noise_1d(self, cells: int, octaves: int = 3) -> np.ndarray:
        """Smooth fractal noise along x, (N, 1, W), roughly in [-1, 1]."""
        out = np.zeros((self.n, 1, self.size), np.float32)
        amp = 1.0
        for _ in range(octaves):
            lattice = self.rng.uniform(-1, 1, (self.n, 1, cells + 1)).astype(np.float32)
            out += amp * (lattice @ interp_matrix(self.size, cells).T)
            cells, amp = 2 * cells, amp * 0.5
        return out

    def wave(self, amp: float, f_lo: float, f_hi: float) -> np.ndarray:
        """A random smooth profile (N, 1, W): two sines of random frequency and phase."""
        f1, f2 = self.u(f_lo, f_hi), self.u(2 * f_lo, 2 * f_hi)
        p1, p2 = self.u(0, 2 * np.pi), self.u(0, 2 * np.pi)
        s = np.sin(2 * np.pi * f1 * self.x + p1) + 0.4 * np.sin(2 * np.pi * f2 * self.x + p2)
        return amp * s

    def sprites(
        self,
        ys: np.ndarray,
        xs: np.ndarray,
        colors: np.ndarray,
        radius: float,
        opacity: float | np.ndarray = 1.0,
    ) -> None:
        """Soft round dots at fractional positions ys, xs (N, K) in colours (3, N, K)."""
        r = max(0.5, radius * self.size)
        k = int(np.ceil(r))
        off = np.arange(-k, k + 1)
        oy, ox = np.meshgrid(off, off, indexing="ij")
        fall = np.clip(1.2 - np.hypot(oy, ox) / r, 0, 1).astype(np.float32).ravel()  # (S,)
        keep = fall > 0
        oy, ox, fall = oy.ravel()[keep], ox.ravel()[keep], fall[keep]
        py = np.clip((ys * self.size).astype(int)[..., None] + oy, 0, self.size - 1)  # (N, K, S)
        px = np.clip((xs * self.size).astype(int)[..., None] + ox, 0, self.size - 1)
        ii = np.broadcast_to(np.arange(self.n)[:, None, None], py.shape)
        a = fall * np.asarray(opacity, np.float32)[..., None]  # (N, K, S)
        cur = self.img[:, ii, py, px]  # (3, N, K, S)
        self.img[:, ii, py, px] = cur + (colors[..., None] - cur) * a


def make_canvas(
    n: int, size: int, time: str, horizon: tuple[float, float], rng: np.random.Generator
) -> Canvas:
    """An empty canvas for n images at one time of day with horizons drawn from a range."""
    grid = (np.arange(size, dtype=np.float32) + 0.5) / size
    c = Canvas(
        img=np.zeros((3, n, size, size), np.float32),
        y=grid[None, :, None],
        x=grid[None, None, :],
        size=size,
        rng=rng,
        time=time,
        horizon=rng.uniform(*horizon, (n, 1, 1)).astype(np.float32),
        light=np.ones((3, n, 1, 1), np.float32),
        sun_x=rng.uniform(0.1, 0.9, (n, 1, 1)).astype(np.float32),
        autumn=np.zeros((n, 1, 1), np.float32),
    )
    c.light = c.color(c.palette["light"], 0.05)
    return c


def sky_gradient(c: Canvas) -> None:
    """A vertical gradient from the palette's top colour to its horizon colour, over the whole image."""
    top, bottom = c.color(c.palette["top"], 0.06), c.color(c.palette["bottom"], 0.06)
    t = np.clip(c.y / c.horizon, 0, 1) ** c.u(0.6, 1.2)  # (N, H, 1)
    c.img[:] = top + (bottom - top) * t


def starlight(c: Canvas, count: float, bright: tuple[float, float], radius: float) -> None:
    """Scatter small soft stars above the horizon (count per image at 256 px, scaled by area)."""
    k = max(4, int(count * (c.size / 256) ** 1.2))
    ys = c.rng.uniform(0, 1, (c.n, k)) * c.horizon[:, :, 0]
    xs = c.rng.uniform(0, 1, (c.n, k))
    b = c.rng.uniform(*bright, (c.n, k)).astype(np.float32) ** 2
    tint = 1 - 0.15 * c.rng.random((3, c.n, k)).astype(np.float32)
    c.sprites(ys, xs, tint, radius, b)


def sky(c: Canvas) -> None:
    """The sky of a time of day: gradient, a glowing sun low at dawn and dusk, faint stars at night."""
    sky_gradient(c)
    if c.time == "night":
        starlight(c, 260, (0.4, 0.9), 0.004)
        return
    low = c.time in ("dawn", "dusk")
    r = c.u(0.035, 0.06)
    sy = c.horizon - (c.u(0.02, 0.1) if low else c.u(0.45, 0.8) * c.horizon)
    sun = rgb(c.palette["sun"])
    spread = c.u(0.1, 0.2)  # a separable (Gaussian) glow: one product of a column and a row
    glow = np.exp(-(((c.y - sy) / spread) ** 2)) * (
        0.4 * np.exp(-(((c.x - c.sun_x) / spread) ** 2))
    )
    c.img += glow * sun
    b = c.band(sy - r, sy + r)
    b.over(sun, b.cover(np.sqrt((c.x - c.sun_x) ** 2 + (b.y - sy) ** 2) - r))
