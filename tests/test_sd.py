"""Stable Diffusion folders: a tiny pipeline built from configs here, saved beside real .gen scripts.

The UNet, VAE and CLIP text encoder are random and tiny (64x64 images, 8x8 latents); the tokenizer
comes from a vocabulary written here (transformers 5: `CLIPTokenizer(vocab=dict, merges=list)`).
"""

from __future__ import annotations

import os
import shutil
import string
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

from diffusers import (  # noqa: E402
    AutoencoderKL,
    EulerDiscreteScheduler,
    StableDiffusionPipeline,
    UNet2DConditionModel,
)
from PIL import Image  # noqa: E402
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer  # noqa: E402

from gencode.errors import GenError  # noqa: E402
from gencode.models import sd_folder  # noqa: E402
from gencode.models.catalog import ModelCatalog  # noqa: E402
from gencode.render import load_script, render  # noqa: E402
from gencode.runtime.execute import Executor  # noqa: E402
from gencode.samplers.diffusers_bridge import scheduler_sampler  # noqa: E402
from gencode.samplers.names import DIFFUSERS_SCHEDULERS  # noqa: E402
from gencode.samplers.schedules import alphas_cumprod, get_sigmas, to_sigmas  # noqa: E402

pytestmark = [
    pytest.mark.usefixtures("one_thread", "offline"),
    # diffusers' schedulers trip numpy 2's deprecations thousands of times: not ours to fix here.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]
NEEDS_EXTRA_LIBS = {"LMSDiscreteScheduler", "DPMSolverSDEScheduler"}  # scipy, torchsde


def tiny_pipeline(seed: int = 0) -> StableDiffusionPipeline:
    """A random Stable Diffusion pipeline of SD 1.x's shape, small enough for a CPU test."""
    chars = list(string.ascii_lowercase + string.digits + "()[]:.,!'-")
    vocab = {c: i for i, c in enumerate(chars)}
    vocab |= {c + "</w>": len(chars) + i for i, c in enumerate(chars)}
    vocab |= {"<|startoftext|>": len(vocab), "<|endoftext|>": len(vocab) + 1}
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)
    torch.manual_seed(seed)  # the diffusers/transformers constructors draw from the global RNG
    end = vocab["<|endoftext|>"]
    text = CLIPTextConfig(
        vocab_size=len(vocab), hidden_size=16, intermediate_size=32, num_attention_heads=2,
        num_hidden_layers=2, max_position_embeddings=77, bos_token_id=end - 1,
        eos_token_id=end, pad_token_id=end, projection_dim=16,
    )  # fmt: skip
    unet = UNet2DConditionModel(
        block_out_channels=(16, 32), layers_per_block=1, sample_size=8, norm_num_groups=8,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=16, attention_head_dim=4,
    )  # fmt: skip
    vae = AutoencoderKL(
        block_out_channels=(8, 8, 8, 8), latent_channels=4, layers_per_block=1,
        norm_num_groups=4, sample_size=64,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
    )  # fmt: skip  # four blocks: a latent scale of 8, like SD's
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
        timestep_spacing="trailing", steps_offset=1,
    )  # fmt: skip
    return StableDiffusionPipeline(
        vae=vae, text_encoder=CLIPTextModel(text), tokenizer=tokenizer, unet=unet,
        scheduler=scheduler, safety_checker=None, feature_extractor=None,
        requires_safety_checker=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def _tiny_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sd") / "tiny-sd"
    tiny_pipeline().save_pretrained(folder)
    return folder


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No hub at run time; file hashes remembered in a folder of this test's own."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("GENCODE_HOME", str(tmp_path / "home"))


@pytest.fixture
def sd_dir(tmp_path, _tiny_folder) -> Path:
    """A script folder holding the tiny model as `tiny-sd/`."""
    shutil.copytree(_tiny_folder, tmp_path / "tiny-sd")
    return tmp_path


def run(folder: Path, text: str, **kw):
    script = folder / "s.gen"
    script.write_text('model "tiny-sd"\n' + text, encoding="utf-8")
    return render(script, folder / "out", **kw)


# ---- the checker's view -------------------------------------------------------------------------


def test_folder_resolves_to_a_diffusion_model_with_its_latent_shape(sd_dir) -> None:
    ref = ModelCatalog().resolve("tiny-sd", sd_dir, builtin=False)
    assert (ref.name, ref.family) == ("tiny-sd", "diffusion")
    assert ref.latent_shape(64, 48) == [4, 6, 8]
    assert ref.meta["size"] == 64 and ref.size_multiple == 8 and ref.vocabulary == ()
    assert ref.default("steps") == 25 and ref.default("sampler") == "dpmpp_2m"


def test_turbo_folders_default_to_one_step_without_guidance(sd_dir) -> None:
    shutil.copytree(sd_dir / "tiny-sd", sd_dir / "sd-turbo-mini")
    ref = ModelCatalog().resolve("sd-turbo-mini", sd_dir, builtin=False)
    assert (ref.default("steps"), ref.default("guidance")) == (1, 0.0)
    script = sd_dir / "turbo.gen"
    script.write_text('model "sd-turbo-mini"\nseed 3\ndiffuse "a fox" as fox\n')
    r = render(script, sd_dir / "out")
    assert r.summary.ops["diffuse"].runs == 1 and r.values["fox"].shape == (3, 64, 64)


def test_checking_a_folder_script_imports_no_torch(sd_dir) -> None:
    (sd_dir / "s.gen").write_text(
        'model "tiny-sd"\ndiffuse "a fox" sampler "diffusers:DDIMScheduler"\n'
    )
    code = (
        "import sys\nfrom gencode.check import check_file\ncheck_file(sys.argv[1])\n"
        "assert 'torch' not in sys.modules, 'the front end imported torch'\nprint('torch-free')\n"
    )
    env = {**os.environ, "GENCODE_HOME": str(sd_dir / "home")}
    out = subprocess.run(
        [sys.executable, "-c", code, str(sd_dir / "s.gen")], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    assert "torch-free" in out.stdout


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda f: (f / "vae" / "config.json").unlink(), "vae component is missing"),
        (
            lambda f: (f / "unet" / "diffusion_pytorch_model.safetensors").unlink(),
            "unet component has no weights",
        ),
        (
            lambda f: (f / "text_encoder" / "model.safetensors").rename(
                f / "text_encoder" / "pytorch_model.bin"
            ),
            "pickle (.bin), which can run code and is refused",
        ),
        (lambda f: shutil.rmtree(f / "tokenizer"), "tokenizer component is missing"),
        (lambda f: (f / "model_index.json").unlink(), "not a diffusers model folder"),
    ],
)
def test_a_damaged_folder_is_a_clear_error_at_the_model_line(sd_dir, damage, message) -> None:
    damage(sd_dir / "tiny-sd")
    with pytest.raises(GenError) as e:
        load_script(_script(sd_dir, 'seed 1\ndiffuse "a fox"\n'))
    assert message in str(e.value) and "s.gen:1:" in str(e.value)


def test_folders_with_only_fp16_weight_files_load_them(sd_dir) -> None:
    for component, stem in sd_folder.WEIGHTS.items():
        plain = sd_dir / "tiny-sd" / component / f"{stem}.safetensors"
        plain.rename(plain.with_name(f"{stem}.fp16.safetensors"))
    r = run(sd_dir, 'seed 1\ndiffuse "a fox" steps 2 as fox\n')
    assert r.values["fox"].shape == (3, 64, 64)


def test_sdxl_folders_are_refused_by_name(sd_dir) -> None:
    index = sd_dir / "tiny-sd" / "model_index.json"
    index.write_text(index.read_text().replace('"unet"', '"text_encoder_2": [], "unet"'))
    with pytest.raises(GenError, match="not supported yet"):
        load_script(_script(sd_dir, 'diffuse "a fox"\n'))


def test_diffusers_schedulers_are_checked_by_name_without_diffusers(sd_dir) -> None:
    with pytest.raises(GenError, match="did you mean 'DDIMScheduler'"):
        load_script(_script(sd_dir, 'diffuse "a fox" sampler "diffusers:DDIMSchedular"\n'))
    with pytest.raises(GenError, match="unknown sampler 'euler'"):
        load_script(_script(sd_dir, 'sampler "euler"\ndiffuse "a fox"\n'))


def _script(folder: Path, text: str) -> Path:
    path = folder / "s.gen"
    path.write_text('model "tiny-sd"\n' + text, encoding="utf-8")
    return path


def test_the_folder_hash_is_remembered_by_path_size_and_mtime(sd_dir, monkeypatch) -> None:
    calls: list[Path] = []
    real = sd_folder.file_sha256
    monkeypatch.setattr(sd_folder, "file_sha256", lambda p: calls.append(Path(p)) or real(p))
    first = ModelCatalog().resolve("tiny-sd", sd_dir, builtin=False).sha256
    assert len(calls) >= 4 and sd_folder.hash_cache_path().is_file()
    calls.clear()
    assert ModelCatalog().resolve("tiny-sd", sd_dir, builtin=False).sha256 == first
    assert calls == []  # every file's hash came from the cache on disk
    weights = sd_dir / "tiny-sd" / "unet" / "diffusion_pytorch_model.safetensors"
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))
    assert ModelCatalog().resolve("tiny-sd", sd_dir, builtin=False).sha256 == first
    assert calls == [weights]  # a touched file is hashed again; its content did not change
    with weights.open("r+b") as f:
        f.seek(-4, 2)
        f.write(b"\0\0\0\0")
    assert ModelCatalog().resolve("tiny-sd", sd_dir, builtin=False).sha256 != first


# ---- rendering ----------------------------------------------------------------------------------


def test_a_seed_renders_the_same_pixels_and_another_seed_others(sd_dir) -> None:
    text = 'seed 7\ndiffuse "a red fox" steps 3 guidance 5 sampler euler as fox\n'
    a, b = run(sd_dir, text).array("fox"), run(sd_dir, text).array("fox")
    c = run(sd_dir, text.replace("seed 7", "seed 8")).array("fox")
    assert a.shape == (64, 64, 3) and np.array_equal(a, b) and not np.array_equal(a, c)


def test_gencode_euler_matches_the_diffusers_pipeline(sd_dir) -> None:
    text = 'z = noise seed 3\ndiffuse "a red fox" from z steps 4 guidance 6 sampler euler as fox\n'
    ours = run(sd_dir, text).values["fox"].float()
    pipe = StableDiffusionPipeline.from_pretrained(sd_dir / "tiny-sd", local_files_only=True)
    z = torch.randn((4, 8, 8), generator=torch.Generator().manual_seed(3))
    theirs = pipe(
        "a red fox", latents=z[None], num_inference_steps=4, guidance_scale=6, output_type="pt"
    ).images[0]
    assert (ours - theirs).abs().max() < 1e-4
    # The diffusers scheduler, stepped by gencode's denoiser, walks the same path.
    bridged = run(
        sd_dir, text.replace("sampler euler", 'sampler "diffusers:EulerDiscreteScheduler"')
    )
    assert (bridged.values["fox"] - ours).abs().max() < 1e-4


def test_a_batched_walk_equals_its_frames_rendered_alone(sd_dir) -> None:
    text = "steps 3\nguidance 4\nsampler euler_ancestral\ninterpolate latent a b 4 as walk\n"
    batched = run(sd_dir, text).values["walk"]
    single = run(sd_dir, text, executor=Executor("cpu", chunk=1)).values["walk"]
    assert batched.shape == (4, 3, 64, 64)
    assert (batched - single).abs().max() < 1e-4
    assert len({round(float(f.sum()), 3) for f in batched}) == 4  # the frames differ


def test_prompt_interpolation_negative_prompts_and_weights_change_the_picture(sd_dir) -> None:
    text = """seed 5
steps 2
fade = interpolate prompt "a red fox" "blue dunes" 3
diffuse fade as fade
diffuse "a red fox" as plain
diffuse "a red fox" negative "blur" as unwanted
diffuse "a (red:1.5) fox" as weighted
diffuse "a \\(red\\) fox" as escaped
"""
    r = run(sd_dir, text)
    fade, plain = r.values["fade"], r.values["plain"]
    assert fade.shape == (3, 3, 64, 64) and (fade[0] - plain).abs().max() < 1e-5
    assert (fade[2] - fade[0]).abs().max() > 1e-3
    for name in ("unwanted", "weighted", "escaped"):
        assert (r.values[name] - plain).abs().max() > 1e-4, name


def test_guidance_up_to_one_means_the_prompt_alone(sd_dir) -> None:
    text = 'seed 2\nsteps 1\nsampler euler\ndiffuse "a fox" guidance 0 as g0\ndiffuse "a fox" guidance 1 as g1\n'
    r = run(sd_dir, text)
    assert torch.equal(r.values["g0"], r.values["g1"])


def test_img2img_encode_decode_and_image_interpolation(sd_dir) -> None:
    Image.new("RGB", (64, 64), (200, 120, 40)).save(sd_dir / "in.png")
    text = """seed 4
steps 4
x = load "in.png"
diffuse "a fox" from x strength 0.5 as half
diffuse "a fox" from x strength 0.5 sampler "diffusers:DPMSolverMultistepScheduler" as half_dpm
z = encode x
decode z as back
decode (interpolate latent z 9 3) as morph
interpolate image x half 3 as mixed
"""
    r = run(sd_dir, text)
    assert r.values["half"].shape == (3, 64, 64) and r.values["back"].shape == (3, 64, 64)
    assert r.values["morph"].shape == (3, 3, 64, 64)
    assert (r.values["morph"][0] - r.values["back"]).abs().max() < 1e-5
    assert (r.values["half"] - r.values["half_dpm"]).abs().max() > 0  # a different sampler
    assert r.values["mixed"].shape == (3, 3, 64, 64)


def test_every_diffusers_scheduler_renders(sd_dir) -> None:
    usable = [n for n in DIFFUSERS_SCHEDULERS if n not in NEEDS_EXTRA_LIBS]
    lines = [
        f'diffuse "a fox" steps 4 sampler "diffusers:{n}" as s{i}' for i, n in enumerate(usable)
    ]
    r = run(sd_dir, "seed 1\n" + "\n".join(lines) + "\n")
    for i, name in enumerate(usable):
        x = r.values[f"s{i}"]
        assert x.shape == (3, 64, 64) and bool(torch.isfinite(x).all()), name


# ---- the scheduler bridge on an oracle ----------------------------------------------------------


class _Oracle(torch.nn.Module):
    """A denoiser that always answers the same clean image (a sampler must end on it)."""

    def __init__(self, target: torch.Tensor):
        super().__init__()
        self.target = target
        self.sigmas = to_sigmas(alphas_cumprod("linear")).float()  # (T,) training σ, increasing

    def forward(self, x, sigma, **extra):
        return self.target.expand_as(x)


@settings(max_examples=10, deadline=None)
@given(
    name=st.sampled_from(["DDIMScheduler", "DPMSolverMultistepScheduler", "EulerDiscreteScheduler",
                          "UniPCMultistepScheduler", "HeunDiscreteScheduler", "DEISMultistepScheduler"]),
    steps=st.integers(2, 12),
    seed=st.integers(0, 2**16),
)  # fmt: skip
def test_bridged_schedulers_converge_to_an_oracle_target(name, steps, seed) -> None:
    g = torch.Generator().manual_seed(seed)
    target = torch.rand((1, 4, 4, 4), generator=g) * 2 - 1
    oracle = _Oracle(target)
    sigmas = get_sigmas(alphas_cumprod("linear"), steps)
    x = torch.randn(target.shape, generator=g) * sigmas[0]
    out = scheduler_sampler(f"diffusers:{name}")(oracle, x, sigmas, generator=g, steps=steps)
    assert (out - target).abs().max() < 5e-2  # DDIM ends at t=0, a hair from clean


# ---- parity with diffusers: the same start latent, the same picture ---------------------------


def _diffusers_image(folder: Path, scheduler, z: torch.Tensor, sigma0: float) -> torch.Tensor:
    """diffusers' pipeline from gencode's start x = z·σ0, put in the scheduler's own scale."""
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(folder, local_files_only=True)
    pipe.scheduler = scheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    # The pipeline multiplies latents by init_noise_sigma: σ0 for Euler (k-diffusion scale, as
    # gencode), 1 for DDIM and DPM-Solver, whose x is variance-preserving: x·sqrt(ā) = z·σ0/sqrt(1+σ0²).
    init = float(pipe.scheduler.init_noise_sigma)
    latents = z * sigma0 / init if init > 1 else z * sigma0 / (1 + sigma0**2) ** 0.5
    out = pipe("a red fox", latents=latents[None], num_inference_steps=4, guidance_scale=6,
               output_type="pt").images[0]  # fmt: skip
    return out.float()


@pytest.mark.parametrize(
    ("sampler", "scheduler"),
    [("ddim", "DDIMScheduler"), ("euler", "EulerDiscreteScheduler"),
     ("dpmpp_2m", "DPMSolverMultistepScheduler")],
)  # fmt: skip
def test_samplers_match_diffusers_from_the_same_start_latent(sd_dir, sampler, scheduler) -> None:
    """Within 1/255 of diffusers' own pipeline; DDIM honours `set_alpha_to_one: false` (SD 1.x)."""
    import json

    import diffusers

    config = sd_dir / "tiny-sd/scheduler/scheduler_config.json"
    sd15 = {"set_alpha_to_one": False, "clip_sample": False}  # as SD 1.5's scheduler config says
    config.write_text(json.dumps(json.loads(config.read_text()) | sd15))
    text = (
        f'z = noise seed 3\ndiffuse "a red fox" from z steps 4 guidance 6 sampler {sampler} as f\n'
    )
    ours = run(sd_dir, text).values["f"].float()
    ddim = diffusers.DDIMScheduler.from_pretrained(sd_dir / "tiny-sd", subfolder="scheduler")
    ddim.set_timesteps(4)
    ac = float(ddim.alphas_cumprod[ddim.timesteps[0]])
    sigma0 = ((1 - ac) / ac) ** 0.5  # gencode's first σ: the noise level of the first timestep
    z = torch.randn((4, 8, 8), generator=torch.Generator().manual_seed(3))
    theirs = _diffusers_image(sd_dir / "tiny-sd", getattr(diffusers, scheduler), z, sigma0)
    assert (ours - theirs).abs().max() < 1 / 255
    if sampler != "dpmpp_2m":  # the same arithmetic: DDIM stopping at σ = 0 was 5.6e-4 off here
        assert (ours - theirs).abs().max() < 1e-4
