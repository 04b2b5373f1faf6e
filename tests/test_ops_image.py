"""Image ops called directly: load, blend, upscale, grid."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gencode.graph import Node
from gencode.runtime.ops_image import OpError, blend, grid, grid_gap, load, upscale
from gencode.runtime.registry import IMPLS, OpContext

CTX = OpContext(device=torch.device("cpu"))


def leaf(value: torch.Tensor) -> Node:
    """A stand-in input node (only its type matters to the ops under test)."""
    kind = "images" if value.dim() == 4 else "image"
    return Node.make("const", {"shape": list(value.shape)}, (), kind)


def save_png(path: Path, pixels: np.ndarray) -> str:
    Image.fromarray(pixels).save(path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_node(rel: str, sha: str, size: tuple[int, int]) -> Node:
    return Node.make("load", {"path": rel, "sha256": sha, "size": list(size)}, (), "image")


def run_load(root: Path, rel: str, sha: str, size: tuple[int, int]) -> torch.Tensor:
    return load(OpContext(torch.device("cpu"), root_dir=root), load_node(rel, sha, size), [])


def test_ops_are_registered():
    assert {"load", "blend", "upscale", "grid"} <= IMPLS.keys()


# ---- load ------------------------------------------------------------------------------------


def test_load_same_size_is_exact(tmp_path):
    px = np.random.default_rng(0).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    sha = save_png(tmp_path / "a.png", px)
    x = run_load(tmp_path, "a.png", sha, (8, 6))
    assert x.shape == (3, 6, 8) and x.dtype == torch.float32
    assert torch.equal((x * 255).round().byte().permute(1, 2, 0), torch.from_numpy(px))


def test_load_centre_crops_to_aspect_then_resizes(tmp_path):
    # 30 wide x 10 high: red | green | blue thirds. A square target keeps only the green middle.
    px = np.zeros((10, 30, 3), np.uint8)
    px[:, :10, 0], px[:, 10:20, 1], px[:, 20:, 2] = 255, 255, 255
    sha = save_png(tmp_path / "wide.png", px)
    x = run_load(tmp_path, "wide.png", sha, (5, 5))
    assert x.shape == (3, 5, 5)
    assert x[1].min() > 0.9 and x[0].max() < 0.1 and x[2].max() < 0.1


def test_load_flattens_alpha_onto_white(tmp_path):
    Image.new("RGBA", (4, 4), (0, 0, 0, 0)).save(tmp_path / "clear.png")
    sha = hashlib.sha256((tmp_path / "clear.png").read_bytes()).hexdigest()
    x = run_load(tmp_path, "clear.png", sha, (4, 4))
    assert torch.all(x == 1.0)


def test_load_missing_file_names_it(tmp_path):
    ctx = OpContext(torch.device("cpu"), root_dir=tmp_path)
    with pytest.raises(OpError, match=r"gone\.png: no such image file"):
        load(ctx, load_node("gone.png", "0" * 64, (4, 4)), [])


def test_load_corrupt_file_names_it(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    sha = hashlib.sha256((tmp_path / "bad.png").read_bytes()).hexdigest()
    with pytest.raises(OpError, match=r"bad\.png: not a readable image") as err:
        run_load(tmp_path, "bad.png", sha, (4, 4))
    assert "object at 0x" not in str(err.value) and "PNG, JPEG or WebP" in str(err.value)


def test_load_truncated_file_names_it(tmp_path):
    Image.new("RGB", (64, 64), (9, 99, 199)).save(tmp_path / "full.jpg", quality=90)
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    sha = hashlib.sha256(data[: len(data) // 2]).hexdigest()
    with pytest.raises(OpError, match=r"cut\.jpg: not a readable image"):
        run_load(tmp_path, "cut.jpg", sha, (4, 4))


def test_load_changed_file_is_refused(tmp_path):
    sha = save_png(tmp_path / "a.png", np.zeros((4, 4, 3), np.uint8))
    save_png(tmp_path / "a.png", np.full((4, 4, 3), 7, np.uint8))  # edited after the check
    with pytest.raises(OpError, match=r"a\.png: the file changed since the script was checked"):
        run_load(tmp_path, "a.png", sha, (4, 4))


def test_load_refuses_paths_outside_the_folder(tmp_path):
    (tmp_path / "inner").mkdir()
    sha = save_png(tmp_path / "out.png", np.zeros((4, 4, 3), np.uint8))
    ctx = OpContext(torch.device("cpu"), root_dir=tmp_path / "inner")
    with pytest.raises(OpError, match="outside the script's folder"):
        load(ctx, load_node("../out.png", sha, (4, 4)), [])


# ---- blend -----------------------------------------------------------------------------------


def blend_node(amount, a: torch.Tensor, b: torch.Tensor) -> Node:
    return Node.make("blend", {"amount": amount}, (leaf(a), leaf(b)), "image")


def test_blend_endpoints_are_exact_and_middle_is_mean():
    a, b = torch.rand(3, 4, 5), torch.rand(3, 4, 5)
    assert torch.equal(blend(CTX, blend_node(0, a, b), [a, b]), a)
    assert torch.equal(blend(CTX, blend_node(1, a, b), [a, b]), b)
    assert torch.allclose(blend(CTX, blend_node(0.5, a, b), [a, b]), (a + b) / 2)


def test_blend_per_frame_amounts_and_broadcast_still():
    a = torch.zeros(3, 2, 2)  # a still, used for every frame
    b = torch.ones(4, 3, 2, 2)
    y = blend(CTX, blend_node([0.0, 0.25, 0.5, 1.0], a, b), [a, b])
    assert y.shape == (4, 3, 2, 2)
    assert y.mean(dim=(1, 2, 3)).tolist() == [0.0, 0.25, 0.5, 1.0]


def test_blend_rejects_mismatched_lengths():
    a, b = torch.zeros(3, 3, 2, 2), torch.ones(4, 3, 2, 2)
    with pytest.raises(OpError, match="3 and 4 frames"):
        blend(CTX, blend_node(0.5, a, b), [a, b])
    with pytest.raises(OpError, match="2 amounts for 4"):
        blend(CTX, blend_node([0.1, 0.2], b, b), [b, b])


def test_blend_resizes_the_second_image_to_the_first():
    a, b = torch.zeros(3, 8, 8), torch.ones(3, 4, 4)
    assert torch.allclose(blend(CTX, blend_node(1, a, b), [a, b]), torch.ones(3, 8, 8))


# ---- upscale ---------------------------------------------------------------------------------


def upscale_node(factor: int, method: str, x: torch.Tensor) -> Node:
    return Node.make("upscale", {"factor": factor, "method": method}, (leaf(x),), "image")


@pytest.mark.parametrize("method", ["nearest", "bicubic", "lanczos"])
def test_upscale_shapes_and_range(method):
    x = torch.rand(3, 5, 7)
    y = upscale(CTX, upscale_node(3, method, x), [x])
    assert y.shape == (3, 15, 21) and 0 <= y.min() and y.max() <= 1
    frames = torch.rand(5, 3, 4, 6)
    ctx = OpContext(torch.device("cpu"), chunk=2)  # three chunks
    assert upscale(ctx, upscale_node(2, method, frames), [frames]).shape == (5, 3, 8, 12)


def test_upscale_nearest_is_exact_block_copy():
    x = torch.rand(3, 4, 5)
    y = upscale(CTX, upscale_node(4, "nearest", x), [x])
    for dy in range(4):
        for dx in range(4):
            assert torch.equal(y[:, dy::4, dx::4], x)


def test_upscale_lanczos_matches_pil_within_a_level():
    rng = np.random.default_rng(1)
    px = rng.integers(0, 256, (9, 11, 3), dtype=np.uint8)
    ref = Image.fromarray(px).resize((22, 18), Image.Resampling.LANCZOS)
    ref = np.asarray(ref, dtype=np.float32)
    x = torch.from_numpy(px).permute(2, 0, 1).float() / 255
    y = upscale(CTX, upscale_node(2, "lanczos", x), [x]).permute(1, 2, 0).numpy() * 255
    assert np.abs(y - ref).max() <= 1.5  # PIL rounds to 8 bits between its two passes


def test_upscale_batched_equals_one_at_a_time():
    frames = torch.rand(3, 3, 4, 4)
    node = upscale_node(2, "lanczos", frames)
    batched = upscale(CTX, node, [frames])
    for i in range(3):
        assert torch.allclose(batched[i], upscale(CTX, node, [frames[i]]), atol=1e-6)


# ---- grid ------------------------------------------------------------------------------------


def grid_node(cols, x: torch.Tensor) -> Node:
    return Node.make("grid", {"cols": cols}, (leaf(x),), "image")


def test_grid_layout_defaults_to_a_square():
    n, h, w = 5, 4, 6
    frames = torch.stack([torch.full((3, h, w), i / 10) for i in range(n)])
    g = grid_gap(h, w)
    sheet = grid(CTX, grid_node(None, frames), [frames])  # 3 columns, 2 rows
    assert sheet.shape == (3, 2 * h + g, 3 * w + 2 * g)
    for i in range(n):
        r, c = divmod(i, 3)
        cell = sheet[:, r * (h + g) : r * (h + g) + h, c * (w + g) : c * (w + g) + w]
        assert torch.equal(cell, frames[i])
    assert torch.all(sheet[:, h : h + g, :] == 1.0)  # the gap
    assert torch.all(sheet[:, h + g :, 2 * (w + g) :] == 1.0)  # the empty sixth cell


def test_grid_explicit_columns():
    frames = torch.rand(4, 3, 2, 2)
    g = grid_gap(2, 2)
    assert grid(CTX, grid_node(4, frames), [frames]).shape == (3, 2, 4 * 2 + 3 * g)
    assert grid(CTX, grid_node(1, frames), [frames]).shape == (3, 4 * 2 + 3 * g, 2)
    assert grid(CTX, grid_node(9, frames), [frames]).shape == (3, 2, 4 * 2 + 3 * g)  # capped at N
