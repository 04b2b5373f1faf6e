"""Feedback-animation ops: camera matrices, warp, colour coherence, adjust, noise, stack, chain caching."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gencode.camera import IDENTITY, apply, camera_matrix, compose, invert
from gencode.graph import Node
from gencode.render import load_script
from gencode.runtime.execute import Executor
from gencode.runtime.registry import IMPLS, OpContext

pytestmark = pytest.mark.usefixtures("one_thread")
CTX = OpContext(torch.device("cpu"))
IMG = Node.make("const", {"name": "x"}, (), "image")


def run(op: str, params: dict, *inputs: torch.Tensor) -> torch.Tensor:
    node = Node.make(op, params, tuple(IMG for _ in inputs), "image")
    return IMPLS[op](CTX, node, list(inputs))


def warp(x: torch.Tensor, matrix: list[list[float]], border: str = "replicate") -> torch.Tensor:
    return run("warp", {"matrix": matrix, "border": border}, x)


def image(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed))


def dot(h: int, w: int, x: int, y: int) -> torch.Tensor:
    """A black image with one white pixel at column x, row y."""
    img = torch.zeros(3, h, w)
    img[:, y, x] = 1.0
    return img


def centroid(img: torch.Tensor) -> tuple[float, float]:
    """The brightness-weighted mean pixel position (x, y)."""
    m = img[0]
    ys, xs = torch.meshgrid(torch.arange(m.shape[0]), torch.arange(m.shape[1]), indexing="ij")
    return float((m * xs).sum() / m.sum()), float((m * ys).sum() / m.sum())


# ---- camera matrices -------------------------------------------------------------------------


def test_a_still_camera_is_the_identity_and_warps_nothing() -> None:
    m = camera_matrix(1.0, 0.0, 0.0, 0.0, 40, 24)
    assert m == IDENTITY
    x = image(3, 24, 40)
    assert torch.equal(warp(x, m), x)


def test_compose_applies_the_right_matrix_last_and_invert_undoes() -> None:
    m1 = camera_matrix(1.3, 25.0, 4.0, -7.0, 64, 48)
    m2 = camera_matrix(0.8, -60.0, -2.5, 3.0, 64, 48)
    for p in [(0.0, 0.0), (17.5, 3.25), (63.0, 47.0)]:
        assert apply(compose(m2, m1), *p) == pytest.approx(apply(m2, *apply(m1, *p)))
        assert apply(compose(invert(m1), m1), *p) == pytest.approx(p)
        assert apply(compose(m1, invert(m1)), *p) == pytest.approx(p)
    with pytest.raises(ValueError):
        invert([[0.0, 0.0, 1.0], [0.0, 0.0, 2.0]])


def test_the_camera_module_imports_no_torch() -> None:
    code = "import sys, gencode.camera; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# ---- warp ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "zoom, angle, tx, ty", [(1.0, 0.0, 3.0, -2.0), (1.25, 30.0, 0.0, 0.0), (0.8, -45.0, 2.5, 1.5)]
)
def test_a_bright_pixel_lands_where_the_camera_matrix_says(zoom, angle, tx, ty) -> None:
    m = camera_matrix(zoom, angle, tx, ty, 33, 33)
    x0, y0 = 22, 9
    out = warp(dot(33, 33, x0, y0), m)
    want = apply(m, x0, y0)
    assert centroid(out) == pytest.approx(want, abs=0.15)
    iy, ix = divmod(int(out[0].argmax()), 33)
    assert abs(ix - want[0]) <= 0.5 + 1e-6 and abs(iy - want[1]) <= 0.5 + 1e-6


def test_directions_on_screen_zoom_in_rotate_counter_clockwise_pan_right_and_down() -> None:
    c = 16  # the centre of a 33x33 image
    turned = warp(dot(33, 33, c + 5, c), camera_matrix(1.0, 90.0, 0, 0, 33, 33))
    assert turned[0, c - 5, c] == pytest.approx(1.0, abs=1e-5)  # right of centre → above it
    zoomed = warp(dot(33, 33, c + 5, c), camera_matrix(2.0, 0.0, 0, 0, 33, 33))
    assert centroid(zoomed) == pytest.approx((c + 10, c), abs=0.05)  # away from the centre
    panned = warp(dot(33, 33, 4, 4), camera_matrix(1.0, 0.0, 3, 2, 33, 33))
    assert panned[0, 6, 7] == pytest.approx(1.0, abs=1e-5)  # whole pixels: no blur


def test_wrap_tiles_the_image_and_replicate_repeats_its_edge() -> None:
    x = image(3, 8, 12)
    shift = [[1.0, 0.0, 4.0], [0.0, 1.0, 0.0]]  # 4 pixels to the right
    wrapped, replicated = warp(x, shift, "wrap"), warp(x, shift, "replicate")
    assert torch.allclose(wrapped, torch.roll(x, 4, dims=-1), atol=1e-5)
    assert torch.allclose(replicated[..., 4:], x[..., :-4], atol=1e-5)
    assert torch.allclose(replicated[..., :4], x[..., :1].expand(3, 8, 4), atol=1e-5)
    # Half a pixel across the seam: wrap blends the last column with the first.
    half = warp(x, [[1.0, 0.0, 0.5], [0.0, 1.0, 0.0]], "wrap")
    assert torch.allclose(half[..., 0], (x[..., 0] + x[..., -1]) / 2, atol=1e-5)


def test_warp_batches_frames_and_keeps_values_in_range() -> None:
    frames = image(5, 3, 16, 16)
    m = camera_matrix(1.1, 10.0, 1.0, 0.0, 16, 16)
    out = warp(frames, m, "wrap")
    assert out.shape == frames.shape and 0 <= out.min() and out.max() <= 1
    assert torch.allclose(out[3], warp(frames[3], m, "wrap"), atol=1e-6)


# ---- colour coherence ------------------------------------------------------------------------


@pytest.mark.parametrize("space", ["lab", "rgb", "hsv"])
def test_colour_coherence_pulls_a_shifted_frame_back_to_the_reference(space: str) -> None:
    ref = torch.nn.functional.avg_pool2d(image(3, 36, 36), 5, 1)  # smooth, (3, 32, 32)
    shifted = (ref * torch.tensor([0.6, 1.0, 1.2]).view(3, 1, 1) + 0.15).clamp(0, 1)
    out = run("colormatch", {"space": space}, shifted, ref)
    before = (shifted.mean((1, 2)) - ref.mean((1, 2))).abs().sum()
    after = (out.mean((1, 2)) - ref.mean((1, 2))).abs().sum()
    assert after < 0.25 * before, (space, float(before), float(after))
    assert 0 <= out.min() and out.max() <= 1


def test_colour_matching_an_image_to_itself_changes_nothing() -> None:
    x = image(3, 16, 16)
    assert torch.allclose(run("colormatch", {"space": "rgb"}, x, x), x, atol=1e-6)
    assert torch.allclose(run("colormatch", {"space": "lab"}, x, x), x, atol=1e-4)


def test_a_flat_area_stays_flat_under_colour_matching() -> None:
    x = torch.full((3, 8, 8), 0.3)
    out = run("colormatch", {"space": "lab"}, x, image(3, 8, 8))
    assert torch.allclose(out, out[:, :1, :1].expand_as(out), atol=1e-6)


# ---- adjust ----------------------------------------------------------------------------------


def test_contrast_clips_bright_pixels_instead_of_wrapping_around() -> None:
    x = torch.full((3, 8, 8), 0.5)
    x[:, 2, 3] = 0.99
    x[:, 5, 5] = 0.01
    out = run("adjust", {"contrast": 2.0, "sharpen": 0.0}, x)
    assert out[:, 2, 3].tolist() == [1.0, 1.0, 1.0]  # not 0.98 - 1 wrapped to something small
    assert out[:, 5, 5].tolist() == [0.0, 0.0, 0.0]
    assert torch.allclose(out[:, 0, 0], torch.full((3,), 0.5), atol=1e-3)  # the mean holds


def test_sharpening_raises_edge_contrast_and_stays_in_range() -> None:
    x = torch.zeros(3, 8, 8)
    x[..., 4:] = 0.9
    out = run("adjust", {"contrast": 1.0, "sharpen": 5.0}, x)
    assert 0 <= out.min() and out.max() <= 1
    assert out[0, 0, 4] == 1.0 and out[0, 0, 3] == 0.0  # overshoot clipped on both sides
    assert torch.equal(run("adjust", {"contrast": 1.0, "sharpen": 0.0}, x), x)


def test_lower_contrast_pulls_towards_the_mean_grey() -> None:
    x = image(3, 16, 16)
    out = run("adjust", {"contrast": 0.5, "sharpen": 0.0}, x)
    assert float(out.std()) == pytest.approx(0.5 * float(x.std()), rel=1e-4)


# ---- noise and stack -------------------------------------------------------------------------


def test_noise_is_the_same_for_a_seed_and_has_the_asked_strength() -> None:
    x = torch.full((3, 32, 32), 0.5)
    a, b = (run("addnoise", {"amount": 0.05, "seed": 7}, x) for _ in range(2))
    c = run("addnoise", {"amount": 0.05, "seed": 8}, x)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert float((a - x).std()) == pytest.approx(0.05, rel=0.1)
    strong = run("addnoise", {"amount": 2.0, "seed": 7}, x)
    assert 0 <= strong.min() and strong.max() <= 1
    assert torch.equal(run("addnoise", {"amount": 0.0, "seed": 7}, x), x)


def test_stack_keeps_frame_order() -> None:
    frames = [image(3, 4, 4, seed=s) for s in range(4)]
    out = IMPLS["stack"](CTX, Node.make("stack", {}, (IMG,) * 4, "images", 4), frames)
    assert out.shape == (4, 3, 4, 4) and all(torch.equal(out[i], f) for i, f in enumerate(frames))


# ---- the chain through the executor ---------------------------------------------------------

ANIM = """model "tiny.safetensors"
size 16
steps 2
animate 12 "dunes" zoom 1.05 rotate 2 noise 0.02 contrast 1.1 sharpen 0.3 strength {{0: 0.6, 9: 0.6, 10: {s}}} cadence {c}
"""


def test_editing_a_late_keyframe_rediffuses_only_the_frames_after_it(tiny_dir: Path) -> None:
    def model_calls(ex: Executor, s: float, cadence: int = 1) -> int:
        path = tiny_dir / "anim.gen"
        path.write_text(ANIM.format(s=s, c=cadence))
        script = load_script(path)
        ex.add_models(script.catalog.resolved)
        return ex.run(script.graph, script.root).summary.runs["diffuse"]

    ex = Executor(device="cpu")
    assert model_calls(ex, 0.5) == 12  # frame 0 from text, then one img2img per frame
    assert model_calls(ex, 0.4) == 2  # the edit at frame 10: frames 10 and 11 only
    assert model_calls(Executor(device="cpu"), 0.5, cadence=3) == 5  # frames 0, 3, 6, 9, 11
