"""Colour spaces for colour coherence: sRGB ↔ CIE LAB (D65) and RGB ↔ HSV, in torch.

Input and output: tensors with the channel axis third from the end, (..., 3, H, W). RGB is
sRGB-encoded in [0, 1]; LAB has L in [0, 100] and a, b roughly in [-128, 127]; HSV has all three
channels in [0, 1] (hue as a fraction of a turn).
"""

from __future__ import annotations

import torch

# sRGB primaries to CIE XYZ under D65 (IEC 61966-2-1), and the D65 white point.
_RGB_TO_XYZ = (
    (0.4124564, 0.3575761, 0.1804375),
    (0.2126729, 0.7151522, 0.0721750),
    (0.0193339, 0.1191920, 0.9503041),
)
_XYZ_TO_RGB = (
    (3.2404542, -1.5371385, -0.4985314),
    (-0.9692660, 1.8760108, 0.0415560),
    (0.0556434, -0.2040259, 1.0572252),
)
_WHITE = (0.95047, 1.0, 1.08883)
_EPS = 216 / 24389  # CIE's (6/29)^3: below it the LAB curve is linear
_KAPPA = 24389 / 27


def _mat(rows: tuple, x: torch.Tensor) -> torch.Tensor:
    """A 3x3 matrix applied to the channel axis of (..., 3, H, W)."""
    m = torch.tensor(rows, dtype=x.dtype, device=x.device)
    return torch.einsum("ij,...jhw->...ihw", m, x)


def _channels(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return x[..., 0, :, :], x[..., 1, :, :], x[..., 2, :, :]


def srgb_to_linear(x: torch.Tensor) -> torch.Tensor:
    """The sRGB transfer curve undone (values clamped to [0, 1] first)."""
    x = x.clamp(0, 1)
    return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: torch.Tensor) -> torch.Tensor:
    """The sRGB transfer curve; negative light (out of gamut) becomes 0."""
    x = x.clamp(min=0)
    return torch.where(x <= 0.0031308, 12.92 * x, 1.055 * x.clamp(min=1e-12) ** (1 / 2.4) - 0.055)


def rgb_to_lab(x: torch.Tensor) -> torch.Tensor:
    """sRGB (..., 3, H, W) in [0, 1] → CIE LAB under D65."""
    xyz = _mat(_RGB_TO_XYZ, srgb_to_linear(x))
    white = torch.tensor(_WHITE, dtype=x.dtype, device=x.device).view(3, 1, 1)
    t = xyz / white
    f = torch.where(t > _EPS, t.clamp(min=_EPS) ** (1 / 3), (_KAPPA * t + 16) / 116)
    fx, fy, fz = _channels(f)
    return torch.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], dim=-3)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """CIE LAB under D65 → sRGB in [0, 1] (out-of-gamut colours clipped)."""
    L, a, b = _channels(lab)
    fy = (L + 16) / 116
    f = torch.stack([fy + a / 500, fy, fy - b / 200], dim=-3)
    t = torch.where(f**3 > _EPS, f**3, (116 * f - 16) / _KAPPA)
    white = torch.tensor(_WHITE, dtype=lab.dtype, device=lab.device).view(3, 1, 1)
    return linear_to_srgb(_mat(_XYZ_TO_RGB, t * white)).clamp(0, 1)


def rgb_to_hsv(x: torch.Tensor) -> torch.Tensor:
    """RGB (..., 3, H, W) in [0, 1] → HSV, hue in [0, 1) (0 for greys)."""
    r, g, b = _channels(x)
    v, _ = x.max(dim=-3)
    c = v - x.min(dim=-3).values  # chroma
    safe = torch.where(c > 0, c, torch.ones_like(c))
    h = torch.where(
        v == r, ((g - b) / safe) % 6, torch.where(v == g, (b - r) / safe + 2, (r - g) / safe + 4)
    )
    h = torch.where(c > 0, h / 6, torch.zeros_like(h))
    s = torch.where(v > 0, c / torch.where(v > 0, v, torch.ones_like(v)), torch.zeros_like(v))
    return torch.stack([h % 1.0, s, v], dim=-3)


def hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    """HSV (hue in turns, wrapped) → RGB in [0, 1]."""
    h, s, v = _channels(hsv)
    s, v = s.clamp(0, 1), v.clamp(0, 1)
    # The standard formula per channel: k = (n + 6h) mod 6 with n = 5, 3, 1 for R, G, B.
    k = (torch.tensor([5.0, 3.0, 1.0], dtype=hsv.dtype, device=hsv.device).view(3, 1, 1)
         + 6 * h.unsqueeze(-3)) % 6  # fmt: skip
    ramp = torch.minimum(k, 4 - k).clamp(0, 1)
    return (v.unsqueeze(-3) - v.unsqueeze(-3) * s.unsqueeze(-3) * ramp).clamp(0, 1)


TO_SPACE = {"lab": rgb_to_lab, "hsv": rgb_to_hsv, "rgb": lambda x: x}
FROM_SPACE = {"lab": lab_to_rgb, "hsv": hsv_to_rgb, "rgb": lambda x: x.clamp(0, 1)}
