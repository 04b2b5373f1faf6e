"""Image ops `load`, `blend`, `upscale`, `grid`: images (3, H, W) or sequences (N, 3, H, W).

Values are float in [0, 1] on `ctx.device`. Sequence ops work on whole batches (chunks of
`ctx.chunk` frames), never one Python call per frame.
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from gencode.graph import Node
from gencode.runtime.registry import OpContext


class OpError(Exception):
    """An op could not run on its inputs; the message is for the user and names the culprit."""


# ---- load ------------------------------------------------------------------------------------


def load(ctx: OpContext, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
    """An image file, centre-cropped to the aspect of `size` and resized with Lanczos."""
    rel, (w, h) = node.params["path"], node.params["size"]
    data = _read_file(Path(ctx.root_dir), rel)
    digest = hashlib.sha256(data).hexdigest()
    want = node.params.get("sha256")
    if want and digest != want:
        # The cache key holds the checked file's hash: running on other bytes would lie.
        raise OpError(
            f"{rel}: the file changed since the script was checked "
            f"(sha256 {digest[:12]}…, expected {want[:12]}…); check or render again"
        )
    img = _decode(data, rel)
    img = ImageOps.fit(img, (int(w), int(h)), Image.Resampling.LANCZOS, centering=(0.5, 0.5))
    return pil_to_tensor(img).to(ctx.device, ctx.dtype)  # (3, H, W)


def _read_file(root: Path, rel: str) -> bytes:
    """The bytes of `rel` under `root`, refusing anything outside it (graphs may come from JSON)."""
    path = (root / rel).resolve()
    if Path(rel).is_absolute() or not path.is_relative_to(root.resolve()):
        raise OpError(f"{rel}: outside the script's folder; scripts read only files beside them")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise OpError(f"{rel}: no such image file (looked in {root})") from None
    except IsADirectoryError:
        raise OpError(f"{rel}: is a folder, not an image file") from None
    except OSError as err:
        raise OpError(f"{rel}: can't read the file: {err.strerror or err}") from None


def _decode(data: bytes, rel: str) -> Image.Image:
    """Decoded RGB pixels, upright per EXIF; transparency is flattened onto white."""
    try:
        img = Image.open(io.BytesIO(data))
        img.load()  # decode now, so a truncated file fails here and not later
        img = ImageOps.exif_transpose(img)
    except Image.DecompressionBombError:
        raise OpError(f"{rel}: the image is too large to load safely") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as err:
        why = str(err) if not isinstance(err, UnidentifiedImageError) else "not an image format"
        raise OpError(f"{rel}: not a readable image file ({why}: use PNG, JPEG or WebP)") from None
    return _to_rgb(img)


def _to_rgb(img: Image.Image) -> Image.Image:
    """RGB, keeping 16-bit greys (which PIL would clip to white) and flattening alpha."""
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        a = np.asarray(img, dtype=np.float32)
        scale = 65535.0 if a.max(initial=0) > 255 or img.mode.startswith("I;16") else 255.0
        img = Image.fromarray(np.clip(a / scale * 255 + 0.5, 0, 255).astype(np.uint8), "L")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def pil_to_tensor(img: Image.Image) -> torch.Tensor:
    """An RGB PIL image as a float (3, H, W) tensor in [0, 1]."""
    a = np.asarray(img.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(a.copy()).permute(2, 0, 1).float() / 255.0


# ---- blend -----------------------------------------------------------------------------------


def blend(ctx: OpContext, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
    """(1 - amount) * a + amount * b; a still blended with a sequence is used for every frame."""
    a, b = inputs
    if a.shape[-2:] != b.shape[-2:]:
        b = _resize(b, a.shape[-2:])  # made under another `size`: follow the first operand
    b = b.to(a.dtype)
    n = _frames(a, b)
    amount = node.params["amount"]
    if isinstance(amount, list):
        if n is None or len(amount) != n:
            raise OpError(f"blend: {len(amount)} amounts for {n or 1} frame(s)")
        t = torch.tensor(amount, dtype=a.dtype, device=a.device).view(-1, 1, 1, 1)  # (N, 1, 1, 1)
    else:
        t = torch.tensor(float(amount), dtype=a.dtype, device=a.device)
    if n is not None:
        a, b = a.expand(n, *a.shape[-3:]), b.expand(n, *b.shape[-3:])
    # lerp is exact at both ends: amount 0 gives a, amount 1 gives b, bit for bit.
    return torch.lerp(a, b, t)


def _frames(a: torch.Tensor, b: torch.Tensor) -> int | None:
    """The frame count of a blend's result, or None for a still."""
    counts = {x.shape[0] for x in (a, b) if x.dim() == 4}
    if len(counts) > 1:
        raise OpError(f"blend: sequences of {' and '.join(map(str, sorted(counts)))} frames")
    return counts.pop() if counts else None


def _resize(x: torch.Tensor, hw: torch.Size) -> torch.Tensor:
    """x resized to (H, W) with antialiased bicubic, clamped to [0, 1]."""
    batch = x if x.dim() == 4 else x[None]
    y = (
        F.interpolate(
            batch.float(), size=tuple(hw), mode="bicubic", antialias=True, align_corners=False
        )
        .clamp(0, 1)
        .to(x.dtype)
    )
    return y if x.dim() == 4 else y[0]


# ---- upscale ---------------------------------------------------------------------------------


def upscale(ctx: OpContext, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
    """The image (or every frame) `factor` times larger by nearest, bicubic or lanczos."""
    x, f = inputs[0], int(node.params["factor"])
    method = str(node.params.get("method", "lanczos"))
    if method not in UPSCALERS:
        raise OpError(f"upscale: unknown method '{method}' (use {', '.join(UPSCALERS)})")
    batch = x if x.dim() == 4 else x[None]  # (N, 3, H, W)
    out = []
    for start in range(0, batch.shape[0], max(ctx.chunk, 1)):
        ctx.check_cancelled()
        chunk = batch[start : start + ctx.chunk]
        out.append(UPSCALERS[method](chunk.float(), f).to(x.dtype))
        ctx.report("upscale", min(start + ctx.chunk, batch.shape[0]), batch.shape[0])
    y = torch.cat(out)  # (N, 3, H*f, W*f)
    return y if x.dim() == 4 else y[0]


def _nearest(x: torch.Tensor, f: int) -> torch.Tensor:
    """Each pixel repeated f×f times: exact, no new colours."""
    return x.repeat_interleave(f, dim=-2).repeat_interleave(f, dim=-1)


def _bicubic(x: torch.Tensor, f: int) -> torch.Tensor:
    """Bicubic (a = -0.75, as torch), clamped since the kernel overshoots at edges."""
    return F.interpolate(x, scale_factor=f, mode="bicubic", align_corners=False).clamp(0, 1)


def _lanczos(x: torch.Tensor, f: int) -> torch.Tensor:
    """Lanczos-3 as separable resampling matrices (PIL's coefficients), batched, clamped."""
    h, w = x.shape[-2:]
    wh = lanczos_matrix(h, h * f, x.device)  # (H*f, H)
    ww = lanczos_matrix(w, w * f, x.device)  # (W*f, W)
    # Rows then columns, clamping after each pass as PIL does, so ringing matches its output.
    y = (x @ ww.T).clamp(0, 1)  # (N, 3, H, W*f)
    return (wh @ y).clamp(0, 1)  # (N, 3, H*f, W*f)


def lanczos_matrix(n_in: int, n_out: int, device: torch.device | None = None) -> torch.Tensor:
    """The (n_out, n_in) Lanczos-3 resampling matrix, tap for tap as PIL's Resample.c builds it."""
    scale = n_in / n_out
    support = 3.0 * max(scale, 1.0)
    centre = (torch.arange(n_out, dtype=torch.float64) + 0.5) * scale  # (n_out,)
    lo = (centre - support + 0.5).floor().clamp(min=0)
    hi = (centre + support + 0.5).floor().clamp(max=n_in)
    src = torch.arange(n_in, dtype=torch.float64)  # (n_in,)
    d = (src[None, :] - centre[:, None] + 0.5) / max(scale, 1.0)  # (n_out, n_in)
    k = torch.sinc(d) * torch.sinc(d / 3.0) * (d.abs() < 3.0)
    k = k * ((src[None, :] >= lo[:, None]) & (src[None, :] < hi[:, None]))  # PIL's tap window
    k = k / k.sum(dim=1, keepdim=True)  # taps cut off at the border are renormalised, as PIL does
    return k.to(device=device, dtype=torch.float32)


UPSCALERS: dict[str, Callable[[torch.Tensor, int], torch.Tensor]] = {
    "nearest": _nearest,
    "bicubic": _bicubic,
    "lanczos": _lanczos,
}


# ---- grid ------------------------------------------------------------------------------------

GRID_BACKGROUND = 1.0  # white, like a contact sheet on paper


def grid(ctx: OpContext, node: Node, inputs: list[torch.Tensor]) -> torch.Tensor:
    """A contact sheet: frames left to right, top to bottom, `cols` wide, with a small gap."""
    x = inputs[0] if inputs[0].dim() == 4 else inputs[0][None]  # (N, 3, H, W)
    n, c, h, w = x.shape
    cols = min(int(node.params.get("cols") or math.ceil(math.sqrt(n))), n)
    rows = math.ceil(n / cols)
    gap = grid_gap(h, w)
    # Pad the frame count to rows*cols and every frame right and below by the gap, then tile
    # with one reshape; the trailing gap is cut off so the sheet has no outer border.
    cells = F.pad(x, (0, gap, 0, gap), value=GRID_BACKGROUND)  # (N, 3, H+g, W+g)
    blank = cells.new_full((rows * cols - n, c, h + gap, w + gap), GRID_BACKGROUND)
    cells = torch.cat([cells, blank]).view(rows, cols, c, h + gap, w + gap)
    sheet = cells.permute(2, 0, 3, 1, 4).reshape(c, rows * (h + gap), cols * (w + gap))
    return sheet[:, : rows * (h + gap) - gap, : cols * (w + gap) - gap].contiguous()


def grid_gap(h: int, w: int) -> int:
    """The gap between cells: 2 pixels, more for large frames so it stays visible."""
    return max(2, min(h, w) // 32)
