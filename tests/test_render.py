"""End to end: .gen scripts rendered against tiny models saved beside them; bad inputs fail cleanly."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from runtime_support import write_script

import gencode
from gencode.cli.main import cli
from gencode.errors import GenError
from gencode.render import RenderError, load_script, render

pytestmark = pytest.mark.usefixtures("one_thread")

CARD = 'model "tiny.safetensors"\nseed 42; diffuse "dunes" steps 5; interpolate latent a b 6\n'
FACES = """model "gan.safetensors"
seed 9
a = noise seed 1
b = noise seed 2
sample from a as face
happy = edit a smile 1.5
sample from happy as happy_face
sample from (interpolate latent a b 4) as morph
model "vae.safetensors"
v = noise seed 1
z = encode (decode v)
decode (edit z blonde 1) as blonde_face
"""


def files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_the_design_card_renders_a_still_and_a_walk(tiny_dir: Path) -> None:
    out = tiny_dir / "out"
    result = render(write_script(tiny_dir, CARD), out)
    frames = [f"interpolate/{i:04}.png" for i in range(6)]
    sidecar = "interpolate.gif.json"  # an animation's record also goes beside it
    assert files(out) == sorted(["diffuse-dunes.png", "interpolate.gif", sidecar, *frames])
    still = iio.imread(out / "diffuse-dunes.png")
    assert still.shape == (16, 16, 3) and np.array_equal(still, result.array("diffuse-dunes"))
    walk = result.array("interpolate")
    assert walk.shape == (6, 16, 16, 3) and len(set(walk.reshape(6, -1).sum(1).tolist())) > 1
    assert np.array_equal(iio.imread(out / "interpolate/0005.png"), walk[5])
    assert iio.imread(out / "interpolate.gif", index=None).shape[1:3] == (16, 16)


def test_gan_and_vae_ops_render(tiny_dir: Path) -> None:
    result = render(write_script(tiny_dir, FACES), tiny_dir / "out")
    assert result.array("face").shape == (8, 8, 3) and result.array("morph").shape == (4, 8, 8, 3)
    assert not np.array_equal(result.array("face"), result.array("happy_face"))
    assert result.array("blonde_face").shape == (16, 16, 3)
    assert len(result.images("morph")) == 4


def test_img2img_prompt_fades_and_image_ops(tiny_dir: Path) -> None:
    Image.new("RGB", (32, 32), (200, 120, 40)).save(tiny_dir / "in.png")
    text = """model "tiny.safetensors"
x = load "in.png"
diffuse "ocean" from x strength 0.5 as painted
grid (interpolate image x painted 4) cols 2
upscale painted factor 2 method nearest
interpolate prompt "dunes" "ocean night" 3
"""
    result = render(write_script(tiny_dir, text), tiny_dir / "out")
    arrays = {n: result.array(n).shape for n in result.names}
    assert arrays["painted"] == (16, 16, 3)
    assert sorted(arrays.values()) == sorted(
        [(16, 16, 3), (16 * 2 + 2, 16 * 2 + 2, 3), (32, 32, 3), (3, 16, 16, 3)]
    )
    # three stills, three frames, a GIF and its record sidecar
    assert len(files(tiny_dir / "out")) == 3 + 3 + 1 + 1


def test_script_text_renders_in_memory_for_notebooks(tiny_dir: Path, monkeypatch) -> None:
    monkeypatch.chdir(tiny_dir)
    result = gencode.render('model "tiny.safetensors"; diffuse "forest" as f', write=False)
    assert result.written == [] and not (tiny_dir / "out").exists()
    assert result.images("f")[0].size == (16, 16)


def test_a_corrupt_checkpoint_is_a_clear_error_and_writes_nothing(tiny_dir: Path) -> None:
    good = (tiny_dir / "tiny.safetensors").read_bytes()
    (tiny_dir / "broken.safetensors").write_bytes(good[: len(good) - 1000])  # header intact
    script = write_script(tiny_dir, CARD.replace("tiny.safetensors", "broken.safetensors"))
    with pytest.raises(RenderError, match="broken.safetensors.*corrupt"):
        render(script, tiny_dir / "out")
    assert not (tiny_dir / "out").exists()


def test_an_out_of_memory_sized_request_is_refused_and_writes_nothing(tiny_dir: Path) -> None:
    text = 'model "tiny.safetensors"\nsize 2048\ninterpolate latent a b 10000\n'
    with pytest.raises(RenderError, match=r"needs about \d+\.\d GiB of memory.*10000 frames"):
        render(write_script(tiny_dir, text), tiny_dir / "out")
    assert not (tiny_dir / "out").exists()


def test_missing_and_changed_image_files(tiny_dir: Path) -> None:
    text = 'model "tiny.safetensors"\nload "in.png"\n'
    with pytest.raises(GenError, match="no such image file: in.png"):
        render(write_script(tiny_dir, text), tiny_dir / "out")
    Image.new("RGB", (16, 16)).save(tiny_dir / "in.png")
    script = load_script(write_script(tiny_dir, text))
    Image.new("RGB", (16, 16), (255, 0, 0)).save(tiny_dir / "in.png")  # edited after the check
    with pytest.raises(RenderError, match="changed since the script was checked"):
        render(script, tiny_dir / "out")


def test_an_interrupted_render_leaves_no_file(tiny_dir: Path) -> None:
    def interrupt(label: str, done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        render(write_script(tiny_dir, CARD), tiny_dir / "out", progress=interrupt)
    assert not (tiny_dir / "out").exists()


def test_cli_render_writes_files_and_a_summary(tiny_dir: Path) -> None:
    script = write_script(tiny_dir, 'param p = "dunes"\n' + CARD.replace('"dunes"', "p"))
    out = tiny_dir / "out"
    res = CliRunner().invoke(
        cli,
        [
            "render",
            str(script),
            "-o",
            str(out),
            "--set",
            "p=ocean",
            "--device",
            "cpu",
            "--cache",
            str(tiny_dir / "cache"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "wrote" in res.output and "diffuse" in res.output and "8 files" in res.output
    # a sequence's frames make one line, as the README shows
    assert f"wrote {out}/interpolate/0000.png … 0005.png (6 files)\n" in res.output
    assert (out / "diffuse-ocean.png").exists()


def test_cli_render_errors(tiny_dir: Path, monkeypatch) -> None:
    runner = CliRunner()
    bad = write_script(tiny_dir, 'model "tiny.safetensors"\ndifuse "dunes"\n', "bad.gen")
    res = runner.invoke(cli, ["render", str(bad)])
    assert res.exit_code == 1 and "did you mean 'diffuse'" in res.output and "^" in res.output
    broken = write_script(
        tiny_dir, 'model "tiny.safetensors"\nsize 2048\ninterpolate latent a b 10000\n'
    )
    res = runner.invoke(cli, ["render", str(broken), "-o", str(tiny_dir / "out")])
    assert res.exit_code == 1 and "error: this render needs about" in res.output

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("gencode.runtime.execute.Executor.run", interrupted)
    res = runner.invoke(
        cli, ["render", str(write_script(tiny_dir, CARD)), "-o", str(tiny_dir / "o")]
    )
    assert res.exit_code == 130 and "interrupted" in res.output
    assert not (tiny_dir / "o").exists()


def test_cli_render_help() -> None:
    res = CliRunner().invoke(cli, ["render", "--help"])
    assert res.exit_code == 0 and "--cache" in res.output and "--device" in res.output


def test_cli_threads_sets_the_render_threads_records_them_and_keeps_pixels(tiny_dir: Path) -> None:
    from gencode.runtime.device import DEFAULT_THREADS, set_default_threads
    from gencode.runtime.outputs import read_record

    script = write_script(tiny_dir, CARD)
    try:
        for n in (1, 2):
            res = CliRunner().invoke(
                cli, ["render", str(script), "-o", str(tiny_dir / f"t{n}"), "--threads", str(n)]
            )
            assert res.exit_code == 0, res.output
            record = read_record(tiny_dir / f"t{n}/diffuse-dunes.png")
            assert record["environment"]["threads"] == n
        res = CliRunner().invoke(cli, ["render", str(script), "--threads", "0"])
        assert res.exit_code == 2 and "--threads" in res.output
    finally:
        set_default_threads(DEFAULT_THREADS)
    a, b = (np.asarray(Image.open(tiny_dir / d / "diffuse-dunes.png")) for d in ("t1", "t2"))
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 2  # threads reorder float sums only


def test_a_device_the_machine_lacks_is_an_error_at_the_scripts_device_line(tiny_dir: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    script = write_script(tiny_dir, 'model "tiny.safetensors"\ndevice cuda\ndiffuse "dunes"\n')
    res = CliRunner().invoke(cli, ["render", str(script), "-o", str(tiny_dir / "out")])
    assert res.exit_code == 1
    assert "sketch.gen:2:8: error: device 'cuda' was asked for" in res.output
    assert "    2 | device cuda\n      |        ^~~~" in res.output
