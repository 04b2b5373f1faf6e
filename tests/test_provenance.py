"""Provenance records: what every output carries (PNG iTXt + A1111 text, GIF/MP4 comment + sidecar),
and `gencode inspect`."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from runtime_support import write_script

from gencode.a1111 import infotext
from gencode.cli.main import cli
from gencode.describe import prompt_text
from gencode.graph import Graph, Node, Output, canonical
from gencode.models.checkpoint import file_sha256
from gencode.provenance.pixels import as_written, decode_file, pixel_sha256
from gencode.provenance.record import SCHEMA, is_record
from gencode.render import load_script, render
from gencode.runtime.outputs import read_record, sidecar_path, write_outputs

pytestmark = pytest.mark.usefixtures("one_thread")

CARD = 'model "tiny.safetensors"\nseed 42; diffuse "dunes" steps 5; interpolate latent a b 3\n'


@pytest.fixture(autouse=True)
def _keys_home(tmp_path, monkeypatch):
    """Keys live in the test's folder, never in the user's config."""
    monkeypatch.setenv("GENCODE_HOME", str(tmp_path / "home"))


@pytest.fixture
def card(tiny_dir: Path):
    """The design card rendered once: (script path, output folder, result)."""
    script = write_script(tiny_dir, CARD)
    return script, tiny_dir / "out", render(script, tiny_dir / "out", device="cpu")


def test_a_still_carries_every_field(card, tiny_dir: Path) -> None:
    script, out, result = card
    record = read_record(out / "diffuse-dunes.png")
    assert record["schema"] == SCHEMA and is_record(record)
    assert record["script"]["source"] == CARD and record["script"]["file"] == "sketch.gen"
    assert record["script"]["sha256"] == hashlib.sha256(CARD.encode()).hexdigest()
    node = next(o.node for o in result.graph.outputs if o.name == "diffuse-dunes")
    assert record["output"] == {
        "name": "diffuse-dunes",
        "file": "diffuse-dunes.png",
        "node": node.key,
        "frame": None,
    }
    sha = file_sha256(tiny_dir / "tiny.safetensors")
    assert record["model"] == {"name": "tiny", "sha256": sha} and record["models"] == [
        record["model"]
    ]
    assert (record["seed"], record["seeds"]) == (42, [42])
    assert (record["sampler"], record["steps"], record["guidance"]) == ("ddim", 5, 3)
    assert (record["prompt"], record["size"]) == ("dunes", [16, 16])
    env = record["environment"]
    assert env["device"] == "cpu" and env["dtype"] == "float32"
    assert set(env) == {
        "device",
        "dtype",
        "threads",
        "cpu",
        "gencode",
        "torch",
        "python",
        "platform",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", record["created"])
    pixels = iio.imread(out / "diffuse-dunes.png")
    assert record["pixels"] == {"sha256": pixel_sha256(pixels), "shape": [16, 16, 3]}


def test_the_record_is_canonical_json_in_an_itxt_chunk(card) -> None:
    _, out, _ = card
    with Image.open(out / "diffuse-dunes.png") as img:
        text = img.text["gencode"]
    assert text == canonical(json.loads(text))  # sorted keys, no spaces: hashable as is
    assert b"iTXtgencode\x00" in (out / "diffuse-dunes.png").read_bytes()


def test_the_a1111_parameters_text(card) -> None:
    _, out, _ = card
    with Image.open(out / "diffuse-dunes.png") as img:
        text = img.text["parameters"]
    assert re.fullmatch(
        r"dunes\nSteps: 5, Sampler: DDIM, CFG scale: 3, Seed: 42, Size: 16x16, "
        r"Model hash: [0-9a-f]{10}, Model: tiny, Version: gencode \d+\.\d+\.\d+",
        text,
    ), text


def test_frames_and_the_gif_carry_records_and_the_gif_a_sidecar(card) -> None:
    _, out, _ = card
    for i in range(3):
        record = read_record(out / f"interpolate/{i:04}.png")
        assert (
            record["output"]["frame"] == i and record["output"]["file"] == f"interpolate/{i:04}.png"
        )
        assert record["pixels"]["sha256"] == pixel_sha256(
            iio.imread(out / f"interpolate/{i:04}.png")
        )
    gif = read_record(out / "interpolate.gif")
    assert gif["output"]["frames"] == 3 and gif["output"]["frame"] is None
    assert json.loads(sidecar_path(out / "interpolate.gif").read_text()) == gif
    # A GIF is palette-quantized: the hash is of what a reader decodes, not of the render.
    assert gif["pixels"]["sha256"] == pixel_sha256(decode_file(out / "interpolate.gif"))


def test_an_mp4_carries_its_record_in_a_tag_and_a_sidecar(tiny_dir: Path) -> None:
    text = 'model "gan.safetensors"\nsample from (interpolate latent a b 3)\nsave "walk.mp4"\n'
    out = tiny_dir / "out"
    render(write_script(tiny_dir, text), out, device="cpu")
    record = read_record(out / "walk.mp4")
    assert record["output"]["file"] == "walk.mp4" and record["output"]["fps"] > 0
    assert json.loads((out / "walk.mp4.json").read_text()) == record
    assert record["pixels"]["sha256"] == pixel_sha256(decode_file(out / "walk.mp4"))


def test_lossy_formats_hash_the_decoded_pixels() -> None:
    rng = np.random.default_rng(0)
    px = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    assert as_written(px, ".png") is px
    jpeg = as_written(px, ".jpg")
    assert jpeg.shape == px.shape and not np.array_equal(jpeg, px)
    assert np.array_equal(as_written(px, ".jpg"), jpeg)  # the encoder is deterministic


def test_a_mix_of_prompts_reads_as_composable_prompts_per_frame() -> None:
    mix = Node.make("mix", {"texts": ["dunes", "night"], "weights": [[1.0, 0.0], [0.5, 0.5]]}, (), "conds", 2)  # fmt: skip
    assert prompt_text(mix, 0) == "dunes"  # one prompt at full weight reads as itself
    assert prompt_text(mix, 1) == "dunes :0.5 AND night :0.5"
    assert prompt_text(mix, None) == "dunes → night"


def test_infotext_only_for_gencode_records_and_quotes_commas() -> None:
    assert infotext({"seed": 1}) is None
    record = {"schema": SCHEMA, "script": {}, "prompt": "a", "sampler": "euler_ancestral",
              "model": {"name": "x,y", "sha256": "ab" * 32}, "size": [8, 8], "environment": {}}  # fmt: skip
    assert infotext(record) == (
        'a\nSampler: Euler a, Size: 8x8, Model hash: ababababab, Model: "x,y", Version: gencode ?'
    )


def test_every_output_of_write_outputs_gets_the_hook_record(tmp_path: Path) -> None:
    node = Node.make("const", {}, (), "image")
    out = Output("x", node, "x.webp", 10)
    write_outputs(
        Graph(outputs=[out]),
        {node.key: torch.rand(3, 4, 4)},
        tmp_path,
        lambda o, f, px, decoded=None: {"k": 1},
    )
    assert read_record(tmp_path / "x.webp") == {"k": 1}


def test_includes_and_sets_are_recorded(tiny_dir: Path) -> None:
    (tiny_dir / "look.gen").write_text('model "tiny.safetensors"\nsteps 3\n')
    text = 'include "look.gen"\nparam p = "dunes"\ndiffuse p as x\n'
    script = load_script(write_script(tiny_dir, text), {"p": "ocean"})
    render(script, tiny_dir / "out", device="cpu")
    record = read_record(tiny_dir / "out/x.png")
    assert record["script"]["sets"] == {"p": "ocean"} and record["script"]["params"] == {
        "p": "ocean"
    }
    sha = hashlib.sha256(b'model "tiny.safetensors"\nsteps 3\n').hexdigest()
    assert record["script"]["includes"] == [{"file": "look.gen", "sha256": sha}]
    assert record["prompt"] == "ocean" and record["steps"] == 3


# ---- gencode inspect ---------------------------------------------------------------------------


def test_inspect_prints_the_record_readably_and_as_json(card) -> None:
    _, out, _ = card
    runner = CliRunner()
    res = runner.invoke(cli, ["inspect", str(out / "diffuse-dunes.png")])
    assert res.exit_code == 0, res.output
    for expected in ["prompt    dunes", "model     tiny, sha256", "ddim, 5 steps, guidance 3", "seeds     42", "signature none (unsigned)"]:  # fmt: skip
        assert expected in res.output
    res = runner.invoke(cli, ["inspect", "--json", str(out / "interpolate.gif")])
    assert json.loads(res.output) == read_record(out / "interpolate.gif")
    res = runner.invoke(cli, ["inspect", "--source", str(out / "interpolate.gif.json")])
    assert res.exit_code == 0 and "3 frames" in res.output and res.output.rstrip().endswith("b 3")


def test_inspect_says_clearly_when_a_file_carries_no_record(tmp_path: Path) -> None:
    Image.new("RGB", (4, 4)).save(tmp_path / "plain.png")
    (tmp_path / "junk.png").write_bytes(b"not a png")
    res = CliRunner().invoke(cli, ["inspect", str(tmp_path / "plain.png")])
    assert res.exit_code == 1 and "carries no gencode record" in res.output
    res = CliRunner().invoke(cli, ["inspect", str(tmp_path / "junk.png")])
    assert res.exit_code == 1 and "unreadable" in res.output


@pytest.mark.parametrize("command", ["inspect", "reproduce", "verify", "batch", "keys"])
def test_every_new_command_has_help(command: str) -> None:
    res = CliRunner().invoke(cli, [command, "--help"])
    assert res.exit_code == 0 and "Usage:" in res.output


# ---- verify, per format ------------------------------------------------------------------------


def test_every_format_verifies_and_companions_must_agree(tiny_dir: Path) -> None:
    from PIL import PngImagePlugin

    from gencode.provenance.verify import verify

    text = 'model "gan.safetensors"\nsample\nsave "a.jpg"\nsample seed 2\nsave "b.webp"\nsample from (interpolate latent a b 2)\nsave "c.mp4"\nsample seed 3 as d\n'  # fmt: skip
    out = tiny_dir / "out"
    render(write_script(tiny_dir, text), out, device="cpu")
    report = verify([out])
    assert report.ok and report.files == 4, report.problems
    side = out / "c.mp4.json"
    side.write_text(side.read_text().replace('"seeds"', '"seeds_"'))
    record = read_record(out / "d.png")
    info = PngImagePlugin.PngInfo()
    info.add_itxt("gencode", canonical(record))
    info.add_text("parameters", "a different prompt")
    Image.open(out / "d.png").save(out / "d.png", pnginfo=info)
    problems = {str(p) for p in verify([out]).problems}
    assert problems == {
        f"{side}: sidecar disagrees with the record embedded in c.mp4",
        f"{out / 'd.png'}: its `parameters` text does not match its record",
    }


# ---- records are told: every frame's record matches the node that made it ----------------------

TOLD = {
    "still": 'seed 7\nsampler ddim\nguidance 4\neta 0.3\ndiffuse "dunes" negative "fog" steps 9 as a\n',
    "walk": 'seed 3\nprompt {0: "dunes at dawn", 5: "ocean at night"}\nguidance {0: 2, 5: 6}\n'
    "interpolate latent a b 6\n",
    "fade": 'seed 4\ninterpolate prompt "forest at day" "forest at night" 5 ease inout\n',
}
ANIMATE = (
    'seed 5\nguidance {{0: 2, 23: 6}}\nanimate 24 {{0: "dunes at dusk", 23: "ocean at night"}} '
    "cadence {cadence} seed_mode {mode} strength {{0: 0.5, 23: 0.7}}\n"
)


def _maker(out: Output, f: int | None) -> tuple[Node, int | None]:
    """The node (and its frame) that made frame f of an output, read off the graph's shape."""
    node = out.node
    if node.op == "stack":
        return node.inputs[f or 0], None
    return node, f


def _expected(node: Node, f: int | None) -> dict:
    p = node.params
    at = lambda v: v[f] if isinstance(v, list) and f is not None else v  # noqa: E731
    cond = node.inputs[1]
    if cond.op == "prompt":
        prompt = cond.params["text"]
    elif cond.op == "interpolate":  # the weights the runtime blends this frame's prompts with
        from gencode.runtime.ops_gen import ease_times

        t = round(float(ease_times(cond.params["frames"], cond.params["ease"])[f]), 6)
        a, b = (i.params["text"] for i in cond.inputs)
        prompt = a if t == 0 else b if t == 1 else f"{a} :{1 - t:g} AND {b} :{t:g}"
    else:
        row = cond.params["weights"][f if f is not None else 0]
        parts = [(t, w) for t, w in zip(cond.params["texts"], row, strict=True) if w]
        prompt = parts[0][0] if len(parts) == 1 else " AND ".join(f"{t} :{w:g}" for t, w in parts)
    return {"seed": p["seed"], "guidance": at(p["guidance"]), "strength": at(p.get("strength")),
            "mode": p["mode"], "eta": p.get("eta"), "steps": p["steps"], "sampler": p["sampler"],
            "model": p["model"], "prompt": prompt, "negative": node.inputs[2].params["text"]}  # fmt: skip


def _check_every_frame(text: str) -> int:
    from frontend_support import graph

    from gencode.provenance.record import Recorder

    recorder = Recorder(script={}, env={"device": "cpu", "dtype": "float32"})
    checked = 0
    for out in graph(text).outputs:
        frames = [None] if out.node.length is None else range(out.node.length)
        for f in frames:
            record = recorder(out, f, np.zeros((8, 8, 3), np.uint8))
            node, g = _maker(out, f)
            if node.op != "diffuse":  # an in-between frame of an animation: a blend of two
                assert record["mode"] == "cadence", (f, record)
                lo, hi = record["cadence"]["between"]
                assert lo < f < hi and out.node.inputs[lo].op == "diffuse"
                continue
            want = _expected(node, g)
            assert {k: record[k] for k in want} == want, (out.name, f)
            text_ = infotext(record)
            assert text_ is not None
            assert text_.rsplit("\n", 1)[0].split("\nNegative prompt: ")[0] == want["prompt"]
            assert f"Seed: {want['seed']}," in text_ and f"Steps: {want['steps']}," in text_
            assert f"CFG scale: {want['guidance']:g}," in text_
            if want["strength"] is not None:
                assert f"Denoising strength: {want['strength']:g}," in text_
            checked += 1
    return checked


@pytest.mark.parametrize("name", sorted(TOLD))
def test_every_frames_record_matches_the_node_that_made_it(name: str) -> None:
    assert _check_every_frame(TOLD[name]) >= 1


@pytest.mark.parametrize(("cadence", "mode"), [(1, "iter"), (3, "ladder"), (4, "alternate")])
def test_every_animate_frames_record_matches_its_diffusion(cadence: int, mode: str) -> None:
    diffused = _check_every_frame(ANIMATE.format(cadence=cadence, mode=mode))
    assert diffused == len(range(0, 24, cadence)) + (23 % cadence != 0)


def test_a_gifs_record_says_the_rate_it_plays_at() -> None:
    from frontend_support import graph

    from gencode.provenance.record import Recorder
    from gencode.runtime.video import gif_durations

    out = graph('fps 60\ninterpolate latent a b 3\nsave "walk.gif"').outputs[0]
    record = Recorder(script={}, env={})(out, None, np.zeros((3, 8, 8, 3), np.uint8))
    assert record["output"]["fps"] == 50 == 1000 / np.mean(gif_durations(30, 60))


def test_infotext_keeps_a_prompts_newlines_as_a1111_does() -> None:
    record = {"schema": SCHEMA, "script": {}, "prompt": "dunes\nat dusk", "negative": "fog\nhaze",
              "size": [8, 8], "steps": 3, "environment": {}}  # fmt: skip
    text = infotext(record)
    assert text is not None and text.startswith(
        "dunes\nat dusk\nNegative prompt: fog\nhaze\nSteps: 3"
    )
