"""`gencode reproduce`: re-render from the embedded record; exact match, differences, changed inputs."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from runtime_support import save_unet, write_script

from gencode.cli.main import cli
from gencode.provenance.pixels import decode_file, pixel_sha256
from gencode.provenance.reproduce import ReproduceError, compare, reproduce
from gencode.render import render
from gencode.runtime.outputs import read_record, write_still

pytestmark = pytest.mark.usefixtures("one_thread")

CARD = 'model "tiny.safetensors"\nseed 42; diffuse "dunes" steps 3 as still\ninterpolate latent a b 2\n'


@pytest.fixture
def rendered(tiny_dir: Path) -> Path:
    """The card rendered into tiny_dir/out."""
    render(write_script(tiny_dir, CARD), tiny_dir / "out", device="cpu")
    return tiny_dir / "out"


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_a_still_a_frame_and_a_gif_reproduce_exactly(rendered: Path) -> None:
    for name in ["still.png", "interpolate/0001.png", "interpolate.gif"]:
        outcome = reproduce(rendered / name, "cpu")
        assert outcome.ok and outcome.max_diff == 0 and outcome.env_diffs == [], name
    res = run("reproduce", str(rendered / "still.png"))
    assert res.exit_code == 0 and "exact match" in res.output


def test_reproduce_finds_the_script_folder_from_elsewhere(rendered: Path, tmp_path_factory, monkeypatch) -> None:  # fmt: skip
    moved = tmp_path_factory.mktemp("elsewhere") / "out"
    shutil.copytree(rendered, moved)
    monkeypatch.chdir(moved)  # no script beside the copy, none here: --root says where
    assert run("reproduce", str(moved / "still.png")).exit_code == 2
    res = run("reproduce", str(moved / "still.png"), "--root", str(rendered.parent))
    assert res.exit_code == 0, res.output


def test_a_changed_environment_field_is_reported(rendered: Path) -> None:
    path = rendered / "still.png"
    record = read_record(path)
    env = record["environment"] | {"torch": "1.0.0", "device": "cuda:0"}
    write_still(path, decode_file(path), record | {"environment": env})
    outcome = reproduce(path, "cpu")
    assert outcome.ok  # same pixels here; the record was made elsewhere
    assert ("torch", "1.0.0", torch.__version__) in outcome.env_diffs
    res = run("reproduce", str(path))
    assert res.exit_code == 0
    assert "environment differs: device was cuda:0, is cpu" in res.output
    assert "environment differs: torch was 1.0.0" in res.output


def test_different_pixels_give_max_difference_and_psnr(rendered: Path) -> None:
    path = rendered / "still.png"
    pixels = decode_file(path).copy()
    pixels[0, 0] = 255 - pixels[0, 0]  # as if rendered elsewhere: record and file agree
    record = read_record(path)
    record["pixels"]["sha256"] = pixel_sha256(pixels)
    write_still(path, pixels, record)
    outcome = reproduce(path, "cpu")
    assert not outcome.exact and outcome.file_intact and outcome.max_diff > 0
    assert 20 < outcome.psnr < 100
    res = run("reproduce", str(path))
    assert res.exit_code == 1 and "differs from the record" in res.output and "PSNR" in res.output
    assert "same device, dtype, threads, CPU and versions" in res.output


def test_a_file_edited_after_writing_is_told_apart(rendered: Path) -> None:
    path = rendered / "still.png"
    pixels = decode_file(path).copy()
    pixels[1, 1, 1] ^= 8
    write_still(path, pixels, read_record(path))
    outcome = reproduce(path, "cpu")
    assert outcome.exact and not outcome.file_intact and outcome.max_diff == 8
    assert "matches the record, but the file's pixels do not" in run("reproduce", str(path)).output


def test_a_changed_model_or_no_record_cannot_be_reproduced(rendered: Path, tiny_dir: Path) -> None:
    save_unet(tiny_dir / "tiny.safetensors", seed=5)  # same name, other weights
    with pytest.raises(ReproduceError, match=r"tiny: sha256 \w+… here, \w+… in the record"):
        reproduce(rendered / "still.png", "cpu")
    res = run("reproduce", str(rendered / "still.png"))
    assert res.exit_code == 2 and "can't reproduce" in res.output
    Image.new("RGB", (4, 4)).save(tiny_dir / "plain.png")
    res = run("reproduce", str(tiny_dir / "plain.png"))
    assert res.exit_code == 2 and "carries no gencode render record" in res.output


def test_compare() -> None:
    a = np.zeros((2, 2, 3), np.uint8)
    assert compare(a, a) == (0, float("inf"))
    b = a.copy()
    b[0, 0, 0] = 255
    diff, psnr = compare(a, b)
    assert diff == 255 and round(psnr, 2) == round(10 * np.log10(255**2 / (255**2 / 12)), 2)


def test_a_changed_include_is_named(tiny_dir: Path) -> None:
    (tiny_dir / "look.gen").write_text("steps 2\n")
    script = write_script(tiny_dir, 'model "tiny.safetensors"\ninclude "look.gen"\ndiffuse "dunes" as x\n')  # fmt: skip
    render(script, tiny_dir / "out", device="cpu")
    (tiny_dir / "look.gen").write_text("steps 3\n")
    with pytest.raises(ReproduceError, match="the included look.gen is changed"):
        reproduce(tiny_dir / "out/x.png", "cpu")


def test_a_bf16_render_is_recorded_and_reproduces_exactly(tiny_dir: Path) -> None:
    script = write_script(tiny_dir, CARD)
    res = run("render", str(script), "-o", str(tiny_dir / "bf"), "--bf16", "-q")
    assert res.exit_code == 0, res.output
    render(script, tiny_dir / "fp", device="cpu")
    bf, fp = tiny_dir / "bf" / "still.png", tiny_dir / "fp" / "still.png"
    assert read_record(bf)["environment"]["dtype"] == "bfloat16"
    assert read_record(fp)["environment"]["dtype"] == "float32"
    a, b = decode_file(bf).astype(int), decode_file(fp).astype(int)
    assert (a != b).any() and np.abs(a - b).mean() < 8  # another precision, the same picture
    outcome = reproduce(bf, "cpu")  # re-rendered in bfloat16, as the record says
    assert outcome.ok and outcome.max_diff == 0 and outcome.env_diffs == []


def test_threads_are_recorded_and_reproduce_renders_with_them(tiny_dir: Path) -> None:
    """Pixels depend on torch's thread count: the record says it, reproduce uses it."""
    script = write_script(tiny_dir, 'model "tiny.safetensors"\ndiffuse "dunes" steps 2 as d\n')
    before = torch.get_num_threads()
    result = render(script, tiny_dir / "out", device="cpu", threads=3)
    assert torch.get_num_threads() == before and result.summary.threads == 3
    env = read_record(tiny_dir / "out/d.png")["environment"]
    assert env["threads"] == 3 and env["cpu"]
    outcome = reproduce(tiny_dir / "out/d.png", "cpu")
    assert outcome.ok and outcome.env_diffs == []  # re-rendered with 3 threads, as recorded


def test_a_record_without_threads_names_them_as_what_differs(rendered: Path) -> None:
    path = rendered / "still.png"
    record = read_record(path)
    env = {k: v for k, v in record["environment"].items() if k != "threads"}
    write_still(path, decode_file(path), record | {"environment": env})
    assert [d[0] for d in reproduce(path, "cpu").env_diffs] == ["threads"]


# ---- records are untrusted: root, decoding, edits, bounds --------------------------------------


def test_the_root_never_comes_from_the_record(
    rendered: Path, tmp_path_factory, monkeypatch
) -> None:
    base = tmp_path_factory.mktemp("victim")
    (base / "secret").mkdir()
    Image.new("RGB", (16, 16), (200, 10, 10)).save(base / "secret/secret.png")
    (base / "secret/evil.gen").write_text('load "secret.png"\n')
    deep = base / "a/b/c"
    deep.mkdir(parents=True)
    path = deep / "still.png"
    record = read_record(rendered / "still.png")
    source = 'load "secret.png" as still\n'
    script = record["script"] | {"file": "../../../secret/evil.gen", "source": source, "sha256": sha(source)}  # fmt: skip
    write_still(path, decode_file(rendered / "still.png"), record | {"script": script})
    monkeypatch.chdir(deep)  # where the record's relative path would lead to secret/
    with pytest.raises(ReproduceError, match="does not check here") as e:
        reproduce(path, "cpu")
    assert str(deep) in str(e.value) and "secret.png" in str(e.value)
    res = run("reproduce", str(path), "--root", str(base / "secret"))  # the user may choose it
    assert "does not check here" not in res.output  # there, secret.png is found


def sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


def test_an_undecodable_png_is_said_to_be_so(rendered: Path) -> None:
    path = rendered / "still.png"
    data = bytearray(path.read_bytes())
    at = data.index(b"IDAT") + 8
    data[at : at + 20] = bytes(20)  # the record chunk is intact, the image data is not
    path.write_bytes(bytes(data))
    res = run("reproduce", str(path))
    assert res.exit_code == 1 and "its pixels cannot be decoded" in res.output, res.output
    assert "PSNR inf" not in res.output


def test_an_edited_record_is_named_even_when_the_pixels_match(rendered: Path) -> None:
    path = rendered / "still.png"
    write_still(path, decode_file(path), read_record(path) | {"seed": 99})
    outcome = reproduce(path, "cpu")
    assert outcome.exact and outcome.file_intact and not outcome.ok
    assert outcome.edited == ["seed says 99, the script makes 42"]
    res = run("reproduce", str(path))
    assert res.exit_code == 1 and "the record was edited: seed says 99, the script makes 42" in res.output  # fmt: skip
    assert "exact match" not in res.output


def test_edited_parameters_text_is_named(rendered: Path) -> None:
    from PIL import PngImagePlugin

    path = rendered / "still.png"
    record = read_record(path)
    info = PngImagePlugin.PngInfo()
    info.add_itxt("gencode", __import__("gencode.graph", fromlist=["canonical"]).canonical(record))
    info.add_text("parameters", "a castle\nSteps: 50, Seed: 1")
    Image.fromarray(decode_file(path)).save(path, pnginfo=info)
    res = run("reproduce", str(path))
    assert res.exit_code == 1 and "`parameters` text differs from what the record gives" in res.output  # fmt: skip


def test_an_edited_script_hash_and_a_huge_graph_are_refused(rendered: Path, monkeypatch) -> None:
    import gencode.provenance.reproduce as R

    path = rendered / "still.png"
    record = read_record(path)
    write_still(path, decode_file(path), record | {"script": record["script"] | {"source": record["script"]["source"] + "\n"}})  # fmt: skip
    with pytest.raises(ReproduceError, match="its script's sha256 is not that of the script it holds"):  # fmt: skip
        reproduce(path, "cpu")
    write_still(path, decode_file(path), record)
    monkeypatch.setattr(R, "MAX_NODES", 3)  # the card's still depends on more nodes than that
    with pytest.raises(ReproduceError, match="depends on more than 3 graph nodes"):
        reproduce(path, "cpu")


def test_a_dag_bomb_in_a_record_is_reproduced_quickly(tiny_dir: Path) -> None:
    import time

    lines = ['model "gan.safetensors"', "i0 = sample seed 1"] + [f"i{k + 1} = blend i{k} i{k}" for k in range(40)]  # fmt: skip
    script = write_script(tiny_dir, "\n".join(lines + ["i40 as bomb"]) + "\n")
    t0 = time.perf_counter()
    render(script, tiny_dir / "out", device="cpu")
    outcome = reproduce(tiny_dir / "out/bomb.png", "cpu")
    assert outcome.ok and time.perf_counter() - t0 < 60
