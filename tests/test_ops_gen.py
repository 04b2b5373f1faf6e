"""Generator ops: a contract test over every registered op, interpolation, batching, determinism."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image
from runtime_support import LAYOUT_ATOL

from gencode.graph import Node
from gencode.models.checkpoint import file_sha256
from gencode.ops.signatures import EASES
from gencode.runtime.execute import Executor  # noqa: F401 — imports every op module
from gencode.runtime.frames import subset
from gencode.runtime.models import ModelStore
from gencode.runtime.ops_diffuse import _per_row_noise
from gencode.runtime.ops_gen import ease_times, slerp_coefficients
from gencode.runtime.registry import IMPLS, Cancelled, OpContext

pytestmark = pytest.mark.usefixtures("one_thread")
G = torch.Generator


def leaf(type_: str, length: int | None = None, name: str = "x") -> Node:
    """A stand-in input node: ops only read their inputs' type and length."""
    return Node.make("const", {"name": name}, (), type_, length)


def model(folder: Path, name: str) -> dict[str, str]:
    return {"name": name, "sha256": file_sha256(folder / f"{name}.safetensors")}


def ctx_for(folder: Path, chunk: int = 8) -> OpContext:
    return OpContext(
        torch.device("cpu"), root_dir=folder, chunk=chunk, models=ModelStore(torch.device("cpu"))
    )


def rand(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(shape, generator=G().manual_seed(seed))


def image(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(shape, generator=G().manual_seed(seed))


def diffuse_node(folder: Path, start: Node, n: int | None, **params) -> Node:
    p = {
        "model": model(folder, "tiny"),
        "steps": 3,
        "guidance": 3.0,
        "sampler": "ddim",
        "eta": 0.0,
        "seed": 5,
        "mode": "txt2img",
    } | params
    ins = (start, leaf("cond", name="c"), leaf("cond", name="u"))
    return Node.make("diffuse", p, ins, "images" if n else "image", n)


def cases(folder: Path) -> dict[str, tuple[Node, list[torch.Tensor], tuple[int, ...]]]:
    """op → (node, inputs, expected output shape), every input tiny."""
    Image.fromarray((image(16, 16, 3).numpy() * 255).astype("uint8")).save(folder / "in.png")
    U, GAN, VAE = (model(folder, n) for n in ("tiny", "gan", "vae"))
    lat, lats, img, imgs = leaf("latent"), leaf("latents", 2), leaf("image"), leaf("images", 2)
    cond = leaf("cond")
    return {
        "noise": (Node.make("noise", {"seed": 1, "shape": [3, 16, 16]}, (), "latent"), [], (3, 16, 16)),
        "prompt": (Node.make("prompt", {"text": "dunes", "model": U}, (), "cond"), [], (16,)),
        "mix": (Node.make("mix", {"texts": ["a", "b"], "weights": [[1, 0], [0.5, 0.5], [0, 1]]},
                          (cond, leaf("cond", name="b")), "conds", 3), [rand(16), rand(16, seed=1)], (3, 16)),
        "interpolate": (Node.make("interpolate", {"mode": "latent", "frames": 5, "method": "slerp",
                                                  "ease": "inout"}, (lat, lat), "latents", 5),
                        [rand(3, 16, 16), rand(3, 16, 16, seed=1)], (5, 3, 16, 16)),
        "add": (Node.make("add", {}, (lats, lat), "latents", 2), [rand(2, 4), rand(4)], (2, 4)),
        "sub": (Node.make("sub", {}, (lat, lat), "latent"), [rand(4), rand(4, seed=1)], (4,)),
        "scale": (Node.make("scale", {"factor": 0.5}, (lat,), "latent"), [rand(4)], (4,)),
        "diffuse": (diffuse_node(folder, lats, 2, guidance=[1.0, 4.0]),
                    [rand(2, 3, 16, 16), rand(16), rand(16, seed=1)], (2, 3, 16, 16)),
        "sample": (Node.make("sample", {"model": GAN}, (lats,), "images", 2), [rand(2, 8)], (2, 3, 8, 8)),
        "encode": (Node.make("encode", {"model": VAE}, (img,), "latent"), [image(3, 16, 16)], (4,)),
        "decode": (Node.make("decode", {"model": VAE}, (lat,), "image"), [rand(4)], (3, 16, 16)),
        "edit": (Node.make("edit", {"model": GAN, "edits": {"smile": 1.5}}, (lat,), "latent"),
                 [rand(8)], (8,)),
        "load": (Node.make("load", {"path": "in.png", "sha256": file_sha256(folder / "in.png"),
                                    "size": [8, 8]}, (), "image"), [], (3, 8, 8)),
        "blend": (Node.make("blend", {"amount": [0.2, 0.8]}, (imgs, img), "images", 2),
                  [image(2, 3, 8, 8), image(3, 8, 8, seed=1)], (2, 3, 8, 8)),
        "upscale": (Node.make("upscale", {"factor": 2, "method": "bicubic"}, (img,), "image"),
                    [image(3, 8, 8)], (3, 16, 16)),
        "grid": (Node.make("grid", {"cols": 2}, (imgs,), "image"), [image(2, 3, 8, 8)], (3, 8, 18)),
        "warp": (Node.make("warp", {"matrix": [[1.1, 0.1, -1], [-0.1, 1.1, 2]], "border": "wrap"},
                           (imgs,), "images", 2), [image(2, 3, 8, 8)], (2, 3, 8, 8)),
        "colormatch": (Node.make("colormatch", {"space": "lab"}, (img, img), "image"),
                       [image(3, 8, 8), image(3, 6, 6, seed=1)], (3, 8, 8)),
        "adjust": (Node.make("adjust", {"contrast": 2.0, "sharpen": 1.0}, (img,), "image"),
                   [image(3, 8, 8)], (3, 8, 8)),
        "addnoise": (Node.make("addnoise", {"amount": 0.5, "seed": 3}, (img,), "image"),
                     [image(3, 8, 8)], (3, 8, 8)),
        "stack": (Node.make("stack", {}, (img, img, img), "images", 3),
                  [image(3, 8, 8, seed=s) for s in range(3)], (3, 3, 8, 8)),
        "picture": (Node.make("picture", {"slot": "previous", "size": [8, 6], "of": None}, (), "image"),
                    [], (3, 6, 8)),
        "wander": (Node.make("wander", {"seed": 2, "every": 12, "shape": [3, 16, 16], "at": 5.5}, (),
                             "latent"), [], (3, 16, 16)),
        "feedback": (feedback_node(U), [image(3, 16, 16), image(3, 16, 16, seed=1), rand(16),
                                        rand(16, seed=1)], (3, 16, 16)),
    }  # fmt: skip


def feedback_node(model_param: dict) -> Node:
    """One step of an endless animate from a picture on screen (keyed 'abc')."""
    pic = Node.make("picture", {"slot": "previous", "size": [16, 16], "of": "abc"}, (), "image")
    anchor = Node.make("picture", {"slot": "anchor", "size": [16, 16], "of": "abc"}, (), "image")
    p = {
        "model": model_param,
        "steps": 3,
        "sampler": "ddim",
        "eta": 0.0,
        "guidance": 3.0,
        "zoom": 1.05,
        "rotate": 2.0,
        "pan_x": 0.0,
        "pan_y": 1.0,
        "strength": 0.5,
        "noise": 0.02,
        "contrast": 1.1,
        "sharpen": 0.0,
        "seed": 4,
        "seed_mode": "iter",
        "seed_every": 1,
        "cadence": 1,
        "coherence": "lab",
        "border": "replicate",
        "shape": [3, 16, 16],
        "frame": 3,
    }
    return Node.make("feedback", p, (pic, anchor, leaf("cond"), leaf("cond", name="u")), "image")


def test_every_registered_op_honours_the_contract(tiny_dir: Path) -> None:
    table = cases(tiny_dir)
    assert set(IMPLS) <= set(table), f"ops without a contract case: {set(IMPLS) - set(table)}"
    ctx = ctx_for(tiny_dir)
    for op, (node, inputs, shape) in table.items():
        with torch.inference_mode():
            out = IMPLS[op](ctx, node, inputs)
        assert isinstance(out, torch.Tensor) and out.device.type == "cpu", op
        assert tuple(out.shape) == shape, (op, tuple(out.shape))
        assert out.is_floating_point() and torch.isfinite(out).all(), op
        if node.type in ("image", "images"):
            assert 0 <= out.min() and out.max() <= 1, op


def test_slerp_hits_both_ends_exactly_and_keeps_the_norm() -> None:
    a, b = rand(3, 8, 8), rand(3, 8, 8, seed=1)
    t = ease_times(7, "linear")
    ca, cb = slerp_coefficients(a, b, t)
    frames = ca.float().view(-1, 1, 1, 1) * a + cb.float().view(-1, 1, 1, 1) * b
    assert torch.equal(frames[0], a) and torch.equal(frames[-1], b)
    norms = frames.flatten(1).norm(dim=1)
    # Two Gaussian latents are nearly orthogonal: slerp keeps the norm between the ends', where
    # lerp would sag to about 1/√2 of it half way (a washed-out middle frame).
    assert norms.min() > 0.98 * min(a.norm(), b.norm())
    assert norms.max() < 1.02 * max(a.norm(), b.norm())


def test_slerp_of_parallel_latents_falls_back_to_lerp() -> None:
    a = rand(16)
    ca, cb = slerp_coefficients(a, 2 * a, torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64))
    assert torch.allclose(ca, torch.tensor([1.0, 0.5, 0.0], dtype=torch.float64))


@pytest.mark.parametrize("ease", list(EASES))
def test_eases_start_at_0_end_at_1_and_never_go_back(ease: str) -> None:
    t = ease_times(9, ease)
    assert t[0] == 0 and t[-1] == 1 and (t.diff() >= 0).all()


def test_mix_is_the_weighted_sum_of_conditionings(tiny_dir: Path) -> None:
    node, inputs, _ = cases(tiny_dir)["mix"]
    out = IMPLS["mix"](ctx_for(tiny_dir), node, inputs)
    assert torch.allclose(out[1], (inputs[0] + inputs[1]) / 2)
    assert torch.equal(out[0], inputs[0])


def run_diffuse(
    folder: Path, node: Node, inputs: list[torch.Tensor], chunk: int = 8
) -> torch.Tensor:
    with torch.inference_mode():
        return IMPLS["diffuse"](ctx_for(folder, chunk), node, inputs)


def walk_inputs(n: int) -> list[torch.Tensor]:
    return [rand(n, 3, 16, 16, seed=3), rand(16, seed=4), rand(16, seed=5)]


@pytest.mark.parametrize("sampler", ["ddim", "euler", "euler_ancestral", "ddpm"])
def test_a_batch_gives_the_frames_one_at_a_time_gives(tiny_dir: Path, sampler: str) -> None:
    if sampler in ("euler_ancestral", "ddpm") and not _per_row_noise():
        pytest.skip("the samplers draw one noise stream per batch (noise_like takes one generator)")
    node = diffuse_node(tiny_dir, leaf("latents", 4), 4, sampler=sampler, guidance=[1, 2, 3, 4])
    inputs = walk_inputs(4)
    batched = run_diffuse(tiny_dir, node, inputs)
    assert torch.allclose(run_diffuse(tiny_dir, node, inputs, chunk=1), batched, atol=LAYOUT_ATOL)
    for f in range(4):  # frame f alone, as the executor computes a frame missing from its cache
        alone = run_diffuse(tiny_dir, subset(node, [f]), [inputs[0][f : f + 1], *inputs[1:]])
        assert torch.allclose(alone[0], batched[f], atol=LAYOUT_ATOL), f


def test_img2img_frames_draw_their_own_noise_and_batch_exactly(tiny_dir: Path) -> None:
    node = diffuse_node(tiny_dir, leaf("images", 3), 3, mode="img2img", strength=[0.0, 0.5, 1.0])
    frames = image(3, 3, 16, 16, seed=6)
    inputs = [frames, rand(16, seed=4), rand(16, seed=5)]
    out = run_diffuse(tiny_dir, node, inputs)
    assert torch.allclose(out[0], frames[0], atol=1e-6)  # strength 0 keeps the image
    assert (out[2] - frames[2]).abs().mean() > 0.05  # strength 1 redraws it
    assert torch.allclose(run_diffuse(tiny_dir, node, inputs, chunk=1), out, atol=LAYOUT_ATOL)


def test_same_seed_same_pixels_other_seed_other_pixels(tiny_dir: Path) -> None:
    inputs = [image(3, 16, 16, seed=6), rand(16, seed=4), rand(16, seed=5)]
    node = diffuse_node(tiny_dir, leaf("image"), None, mode="img2img", strength=0.7)
    first = run_diffuse(tiny_dir, node, inputs)
    assert torch.equal(run_diffuse(tiny_dir, node, inputs), first)
    other = diffuse_node(tiny_dir, leaf("image"), None, mode="img2img", strength=0.7, seed=6)
    assert not torch.allclose(run_diffuse(tiny_dir, other, inputs), first)


def test_per_frame_guidance_matches_stills_with_that_guidance(tiny_dir: Path) -> None:
    inputs = walk_inputs(2)
    seq = run_diffuse(
        tiny_dir, diffuse_node(tiny_dir, leaf("latents", 2), 2, guidance=[1, 6]), inputs
    )
    for f, g in enumerate([1, 6]):
        still = diffuse_node(tiny_dir, leaf("latent"), None, guidance=g)
        assert torch.allclose(
            run_diffuse(tiny_dir, still, [inputs[0][f], *inputs[1:]]), seq[f], atol=LAYOUT_ATOL
        )
    assert not torch.allclose(
        seq[0], seq[1], atol=LAYOUT_ATOL * 10
    )  # the tolerance tells them apart


def test_diffuse_reports_steps_and_stops_when_cancelled(tiny_dir: Path) -> None:
    node = diffuse_node(tiny_dir, leaf("latents", 3), 3)
    ctx, seen = ctx_for(tiny_dir, chunk=2), []
    ctx.progress = lambda label, done, total: seen.append((label, done, total))
    with torch.inference_mode():
        IMPLS["diffuse"](ctx, node, walk_inputs(3))
    assert seen[-1] == ("diffuse", 6, 6)  # 3 steps for each of two chunks
    ctx.cancel.set()
    with pytest.raises(Cancelled), torch.inference_mode():
        IMPLS["diffuse"](ctx, node, walk_inputs(3))
