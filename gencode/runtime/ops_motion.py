"""Per-frame ops of feedback animation: `warp`, `colormatch`, `adjust`, `addnoise`, `stack`.

Input: images (3, H, W) or sequences (N, 3, H, W), float in [0, 1] on `ctx.device`. Output: the
same shape (`stack`: N images → (N, 3, H, W)), always clipped to [0, 1]. Each op works on the
whole batch at once.

Warp matrices follow `gencode.camera`: pixel coordinates with x right, y down and (0, 0) at the
centre of the top-left pixel; [[a, b, c], [d, e, f]] sends a source position (x, y) to the
destination (a·x + b·y + c, d·x + e·y + f).
"""

from __future__ import annotations

import weakref

import torch
import torch.nn.functional as F

from gencode.camera import IDENTITY, invert
from gencode.graph import Node
from gencode.runtime.color import FROM_SPACE, TO_SPACE
from gencode.runtime.ops_image import OpError
from gencode.runtime.registry import OpContext

BORDERS = ("replicate", "wrap")
SHARPEN_SIGMA = 1.0  # Deforum's unsharp mask: a 5x5 Gaussian of sigma 1
LUMA = (0.299, 0.587, 0.114)  # the grey PIL's ImageEnhance.Contrast pivots around


def _batch(x: torch.Tensor) -> torch.Tensor:
    """An image or a sequence as a batch (N, 3, H, W)."""
    return x if x.dim() == 4 else x[None]


def _like(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """y, a batch, back in x's shape (an image stays an image) and dtype."""
    return (y if x.dim() == 4 else y[0]).to(x.dtype)


# ---- warp ------------------------------------------------------------------------------------


def warp(ctx: OpContext, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
    """The image moved by an affine matrix (source → destination), sampled bilinearly."""
    (x,) = inputs
    matrix = [[float(v) for v in row] for row in node.params["matrix"]]
    border = str(node.params.get("border", "replicate"))
    if border not in BORDERS:
        raise OpError(f"warp: unknown border '{border}' (use {' or '.join(BORDERS)})")
    if len(matrix) != 2 or any(len(row) != 3 for row in matrix):
        raise OpError("warp: the matrix must be 2x3 [[a, b, c], [d, e, f]]")
    if matrix == IDENTITY:
        return x.clone()  # bit-exact: a still camera must not blur the picture
    try:
        inverse = invert(matrix)
    except ValueError as e:
        raise OpError(f"warp: {e}") from None
    batch = _batch(x).float()  # (N, 3, H, W)
    h, w = batch.shape[-2:]
    sx, sy = _source_positions(inverse, h, w, batch.device)  # (H, W) each
    if border == "wrap":
        return _like(_sample_wrapped(batch, sx, sy), x)
    return _like(_sample(batch, sx, sy, "border"), x)


def _source_positions(
    inverse: list[list[float]], h: int, w: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """For each destination pixel, the source position it shows (float64, then float32)."""
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij"
    )
    (a, b, c), (d, e, f) = inverse
    sx, sy = a * xs + b * ys + c, d * xs + e * ys + f  # (H, W)
    return sx.to(device), sy.to(device)


def _sample(batch: torch.Tensor, sx: torch.Tensor, sy: torch.Tensor, padding: str) -> torch.Tensor:
    """Bilinear samples of `batch` at pixel positions (sx, sy), pixel centres on integers."""
    n, _, h, w = batch.shape
    # align_corners=True puts -1 and +1 on the centres of the first and last pixels, which is
    # exactly the camera convention (pixel i at coordinate i). Positions are float64 up to here,
    # so the only error left is float32 rounding inside grid_sample (~1e-6 of a pixel).
    gx = sx * (2 / max(w - 1, 1)) - 1
    gy = sy * (2 / max(h - 1, 1)) - 1
    grid = torch.stack([gx, gy], dim=-1).to(batch.dtype).expand(n, *sx.shape, 2)  # (N, H, W, 2)
    out = F.grid_sample(batch, grid, mode="bilinear", padding_mode=padding, align_corners=True)
    return out.clamp(0, 1)


def _sample_wrapped(batch: torch.Tensor, sx: torch.Tensor, sy: torch.Tensor) -> torch.Tensor:
    """Bilinear samples of a periodic image: positions taken modulo the size."""
    h, w = batch.shape[-2:]
    # One extra row and column (copies of the first) let a sample between the last pixel and
    # the first interpolate across the seam, as a tiled image would.
    tiled = F.pad(batch, (0, 1, 0, 1), mode="circular")  # (N, 3, H+1, W+1)
    return _sample(tiled, torch.remainder(sx, w), torch.remainder(sy, h), "border")


# ---- colormatch ------------------------------------------------------------------------------


def colormatch(ctx: OpContext, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
    """Each channel's histogram matched to the reference's, in LAB (default), RGB or HSV."""
    x, ref = inputs
    space = str(node.params.get("space", "lab"))
    if space not in TO_SPACE:
        raise OpError(f"colormatch: unknown colour space '{space}' (use lab, rgb or hsv)")
    src = TO_SPACE[space](_batch(x).float())  # (N, 3, H, W)
    n, c, h, w = src.shape
    ref_sorted = _sorted_reference(ref, space)  # (M, 3, H'·W')
    if ref_sorted.shape[0] not in (1, n):
        raise OpError(f"colormatch: {n} frames against {ref_sorted.shape[0]} reference frames")
    rows = src.reshape(n * c, h * w)
    ref_rows = ref_sorted.expand(n, c, -1).reshape(n * c, -1)
    matched = match_sorted(rows, ref_rows).reshape(n, c, h, w)
    return _like(FROM_SPACE[space](matched).clamp(0, 1), x)


# The last reference's sorted channels: a stream matches every frame to one anchor. One tuple,
# replaced whole, so threads never see half of one: (key, weak ref to the tensor, sorted).
_last_reference: list[tuple] = []


def _sorted_reference(ref: torch.Tensor, space: str) -> torch.Tensor:
    """(M, 3, H'·W'): each reference channel's values in `space`, sorted; the same tensor
    (unmodified since, where torch counts versions) as last time is not sorted again."""
    version = None if ref.is_inference() else ref._version  # inference tensors stay as made
    key = (id(ref), version, tuple(ref.shape), str(ref.device), space)
    for k, alive, value in _last_reference:
        if k == key and alive() is ref:
            return value
    target = TO_SPACE[space](_batch(ref).float())  # (M, 3, H', W')
    value = target.reshape(target.shape[0], target.shape[1], -1).sort(dim=-1).values
    _last_reference[:] = [(key, weakref.ref(ref), value)]
    return value


def match_histograms(rows: torch.Tensor, ref_rows: torch.Tensor) -> torch.Tensor:
    """Each row's values mapped through its CDF onto the quantiles of the matching ref row."""
    return match_sorted(rows, ref_rows.sort(dim=-1).values)


def match_sorted(rows: torch.Tensor, ref_sorted: torch.Tensor) -> torch.Tensor:
    """`match_histograms` against reference rows already sorted."""
    q = ref_sorted.shape[-1]
    pos = mid_quantiles(rows) * (q - 1)
    i0 = pos.floor().long().clamp(0, q - 1)
    i1 = (i0 + 1).clamp(max=q - 1)
    frac = pos - i0.to(pos.dtype)
    v0, v1 = ref_sorted.gather(-1, i0), ref_sorted.gather(-1, i1)
    return v0 + (v1 - v0) * frac  # linear between the reference's order statistics


def mid_quantiles(rows: torch.Tensor) -> torch.Tensor:
    """Each value's mid-rank among its row, in [0, 1]: equal values share one rank, so a flat
    area maps to one colour, not a gradient. One sort: a tie group's first and last positions
    are running max/min over the sorted row (two binary searches per value cost 3x more)."""
    p = rows.shape[-1]
    ordered, order = rows.sort(dim=-1)  # (R, P)
    pos = torch.arange(p, device=rows.device).expand_as(ordered)
    first = torch.ones_like(ordered, dtype=torch.bool)
    first[:, 1:] = ordered[:, 1:] != ordered[:, :-1]  # a tie group starts here
    last = torch.ones_like(first)
    last[:, :-1] = first[:, 1:]  # … and ends here
    lo = torch.where(first, pos, 0).cummax(dim=-1).values  # values below: the group's start
    hi = torch.where(last, pos + 1, p).flip(-1).cummin(dim=-1).values.flip(-1)  # at or below
    quantile = (lo + hi - 1).to(rows.dtype) / (2 * max(p - 1, 1))  # (R, P) in [0, 1]
    return torch.empty_like(quantile).scatter_(-1, order, quantile)


# ---- adjust ----------------------------------------------------------------------------------


def adjust(ctx: OpContext, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
    """Unsharp-mask sharpening, then contrast about the mean grey, clipped (never wrapped)."""
    (x,) = inputs
    contrast = float(node.params.get("contrast", 1.0))
    sharpen = float(node.params.get("sharpen", 0.0))
    y = _batch(x).float()  # (N, 3, H, W)
    if sharpen:
        y = y + sharpen * (y - gaussian_blur(y, SHARPEN_SIGMA))
    if contrast != 1.0:
        luma = torch.tensor(LUMA, dtype=y.dtype, device=y.device).view(1, 3, 1, 1)
        mean = (y * luma).sum(dim=1, keepdim=True).mean(dim=(-2, -1), keepdim=True)  # (N,1,1,1)
        y = mean + contrast * (y - mean)
    # Floats, clipped: 0.99 at contrast 2 saturates at 1.0; a uint8 cast would wrap it to ~0.
    return _like(y.clamp(0, 1), x)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """A separable Gaussian blur (radius 2 sigma) with edge pixels repeated."""
    radius = max(1, round(2 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-(t**2) / (2 * sigma**2))
    k = k / k.sum()
    c = x.shape[1]
    y = F.pad(x, (radius, radius, radius, radius), mode="replicate")
    y = F.conv2d(y, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)  # rows
    return F.conv2d(y, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)  # columns


# ---- addnoise --------------------------------------------------------------------------------


def addnoise(ctx: OpContext, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
    """Gaussian noise of std `amount` (in pixel values, 0..1), from the node's seed, clipped."""
    (x,) = inputs
    amount = float(node.params.get("amount", 0.0))
    if amount <= 0:
        return x.clone()
    # Drawn on the CPU and moved, so a seed means the same grain on every device.
    eps = torch.randn(x.shape, generator=ctx.generator(int(node.params["seed"])))
    return (x.float() + amount * eps.to(x.device)).clamp(0, 1).to(x.dtype)


# ---- stack -----------------------------------------------------------------------------------


def stack(ctx: OpContext, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
    """N images as one sequence (N, 3, H, W)."""
    if not inputs:
        raise OpError("stack: no frames")
    frames = [x[0] if x.dim() == 4 and x.shape[0] == 1 else x for x in inputs]
    shapes = {tuple(f.shape) for f in frames}
    if len(shapes) != 1 or len(next(iter(shapes))) != 3:
        raise OpError(f"stack: frames of different shapes {sorted(shapes)}")
    return torch.stack([f.to(frames[0].dtype) for f in frames])  # (N, 3, H, W)
