"""Camera moves as 2x3 affine matrices in pixel coordinates (torch-free; the compiler uses them).

Convention: x to the right, y down, (0, 0) at the centre of the top-left pixel, so the image's
centre is ((W - 1) / 2, (H - 1) / 2). A matrix [[a, b, c], [d, e, f]] maps a SOURCE pixel
position to its DESTINATION: x' = a·x + b·y + c, y' = d·x + e·y + f.
"""

from __future__ import annotations

import math

Matrix = list[list[float]]
IDENTITY: Matrix = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]


def camera_matrix(
    zoom: float, angle: float, tx: float, ty: float, width: int, height: int
) -> Matrix:
    """Zoom about the centre (> 1 zooms in), rotate `angle` degrees counter-clockwise on screen
    about the centre, then move by (tx, ty) pixels."""
    cx, cy = (width - 1) / 2, (height - 1) / 2
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    a, b, d, e = zoom * c, zoom * s, -zoom * s, zoom * c  # y points down: ccw on screen
    return [[a, b, cx - a * cx - b * cy + tx], [d, e, cy - d * cx - e * cy + ty]]


def compose(m2: Matrix, m1: Matrix) -> Matrix:
    """The move that applies m1, then m2."""
    (a2, b2, c2), (d2, e2, f2) = m2
    (a1, b1, c1), (d1, e1, f1) = m1
    return [
        [a2 * a1 + b2 * d1, a2 * b1 + b2 * e1, a2 * c1 + b2 * f1 + c2],
        [d2 * a1 + e2 * d1, d2 * b1 + e2 * e1, d2 * c1 + e2 * f1 + f2],
    ]


def invert(m: Matrix) -> Matrix:
    """The move that undoes m."""
    (a, b, c), (d, e, f) = m
    det = a * e - b * d
    if abs(det) < 1e-12:
        raise ValueError("a camera move that collapses the image can't be inverted")
    ia, ib, id_, ie = e / det, -b / det, -d / det, a / det
    return [[ia, ib, -(ia * c + ib * f)], [id_, ie, -(id_ * c + ie * f)]]


def apply(m: Matrix, x: float, y: float) -> tuple[float, float]:
    """Where the pixel position (x, y) goes under m."""
    return m[0][0] * x + m[0][1] * y + m[0][2], m[1][0] * x + m[1][1] * y + m[1][2]
