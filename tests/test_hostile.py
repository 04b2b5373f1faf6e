"""The hostile corpus (issue 13): every input an attacker tried as a script author, file sender
or local user. Each case ends in a clean gencode error that names the file:line:col or the value
at fault, or in a bounded success, within a time bound (pytest-timeout, per case) and never in a
traceback, a hang or a read outside the script's folder.

Small cases are files in tests/hostile/ whose first line says `# expect: TEXT`; big ones (include
bombs, 20,000-line scripts, sparse files, FIFOs, malformed models) are made here by code.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from gencode.check import check_file
from gencode.cli.main import cli
from gencode.compile import compile_program
from gencode.errors import GenError
from gencode.limits import MAX_ERRORS, MAX_INCLUDES, MAX_NESTING
from gencode.runtime import outputs  # noqa: F401 — torch imported once, outside every time bound

HERE = Path(__file__).parent / "hostile"
FILES = sorted(p.stem for p in HERE.glob("*.gen"))
pytestmark = pytest.mark.timeout(30)


def expect_error(script: Path, pattern: str, sets: dict[str, str] | None = None) -> GenError:
    """`gencode check` of `script` fails cleanly: the text is in a diagnostic with a position
    (or quoting the value at fault), and no Python exception other than GenError escapes."""
    with pytest.raises(GenError) as caught:
        check_file(script, sets)
    e = caught.value
    hits = [d for d in e.errors if pattern in d.message]
    assert hits, f"{pattern!r} not in:\n{e.format()}"
    assert hits[0].span is not None and hits[0].span.line > 0 or "'" in hits[0].message
    return e


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    shutil.copytree(HERE, tmp_path, dirs_exist_ok=True)
    write_checkpoint(tmp_path / "judge.safetensors", {"family": "classifier", "arch": "cnn"})
    return tmp_path


@pytest.mark.parametrize("name", FILES)
def test_a_hostile_script_is_a_clean_error(corpus: Path, name: str) -> None:
    script = corpus / f"{name}.gen"
    expect = script.read_text(encoding="utf-8").splitlines()[0].removeprefix("# expect: ")
    expect_error(script, expect)


# ---- made by code ----------------------------------------------------------------------------


def write(folder: Path, text: str, name: str = "s.gen") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def write_checkpoint(path: Path, doc: object, header_extra: dict | None = None) -> Path:
    """A safetensors file with no tensors, only a header (no torch needed)."""
    doc = {"config": {}, "meta": {}, **doc} if isinstance(doc, dict) else doc
    meta = json.dumps(doc) if not isinstance(doc, str) else doc
    header = json.dumps({"__metadata__": {"gencode": meta}, **(header_extra or {})}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header)
    return path


NESTED = {
    "minus_chain_5000": "a = 1" + " - 1" * 5000,
    "plus_chain_20000": "a = 1" + " + 1" * 20000,
    "brackets_10000": "a = " + "[" * 10000 + "]" * 10000,
    "sin_2000": "a = " + "sin(" * 2000 + "1" + ")" * 2000,
    "negation_3000": "a = " + "-" * 3000 + " 1",
}


@pytest.mark.parametrize("text", NESTED.values(), ids=NESTED.keys())
def test_deep_nesting_is_an_error_not_a_recursion_error(tmp_path: Path, text: str) -> None:
    expect_error(write(tmp_path, text + "\n"), f"nested more than {MAX_NESTING} levels")


def test_nesting_up_to_the_limit_checks_and_compiles(tmp_path: Path) -> None:
    n = MAX_NESTING - 5
    text = "zoom 1 + 0 * " + "sin(" * n + "t" + ")" * n + '\nanimate 2 "dunes"\n'
    text += "x = a" + " + a" * n + "\nx\n"
    graph = compile_program(check_file(write(tmp_path, text)))
    assert len(graph.outputs) == 2


def test_a_chain_of_thousands_of_bindings_compiles(tmp_path: Path) -> None:
    text = "x0 = noise seed 1\n" + "".join(f"x{i + 1} = x{i} + a\n" for i in range(1500))
    graph = compile_program(check_file(write(tmp_path, text + "x1500\n")))
    assert graph.outputs[0].node.op == "diffuse"


def test_shared_subexpressions_compile_in_linear_time(tmp_path: Path) -> None:
    # 2^40 paths through 41 nodes: walking paths instead of nodes never finishes.
    text = 'prompt "dunes"\nx0 = noise seed 1\n'
    text += "".join(f"x{i + 1} = x{i} + x{i}\n" for i in range(40))
    text += "diffuse from x40\nblend (diffuse from x40) (diffuse from x40)\n"
    graph = compile_program(check_file(write(tmp_path, text)))
    assert graph.outputs[0].name == "add-dunes" and len(graph.nodes) < 50


def test_the_record_of_a_shared_graph_is_built_in_linear_time(tmp_path: Path) -> None:
    import numpy as np

    from gencode.provenance.record import Recorder

    # 2^60 paths through 62 nodes: describing the output by walking paths never finishes.
    text = 'i0 = diffuse "dunes" seed 1\n'
    text += "".join(f"i{k + 1} = blend i{k} i{k}\n" for k in range(60)) + "i60\n"
    graph = compile_program(check_file(write(tmp_path, text)))
    recorder = Recorder(script={}, env={"device": "cpu", "dtype": "float32"})
    record = recorder(graph.outputs[-1], None, np.zeros((8, 8, 3), np.uint8))
    assert record["prompt"] == "dunes" and record["seed"] == 1


def test_an_include_chain_500_deep_is_an_error(tmp_path: Path) -> None:
    for i in range(500):
        write(tmp_path, f'include "c{i + 1}.gen"\n' if i < 499 else "seed 1\n", f"c{i}.gen")
    expect_error(tmp_path / "c0.gen", "includes nest more than")


def test_an_include_bomb_is_cut_short(tmp_path: Path) -> None:
    for i in range(23):  # each file includes the next twice: 2^22 expansions
        text = f'include "b{i + 1}.gen"\ninclude "b{i + 1}.gen"\n' if i < 22 else "seed 1\n"
        write(tmp_path, text, f"b{i}.gen")
    expect_error(tmp_path / "b0.gen", f"more than {MAX_INCLUDES} includes")


def test_an_included_file_is_parsed_once(tmp_path: Path, monkeypatch) -> None:
    from gencode.check import program

    calls = []
    real = program.parse
    monkeypatch.setattr(program, "parse", lambda text, name: calls.append(name) or real(text, name))
    write(tmp_path, "seed 3\n", "lib.gen")
    script = write(tmp_path, 'include "lib.gen"\ninclude "lib.gen"\ninclude "lib.gen"\nnoise\n')
    checked = check_file(script)
    lib = str((tmp_path / "lib.gen").resolve())
    assert calls.count(lib) == 1 and checked.files.count(lib) == 1


@pytest.mark.timeout(60)  # ~3 s of CPU, mostly parsing 150 KB; a shared CI machine may be slow
def test_twenty_thousand_errors_stop_early_and_format_fast(tmp_path: Path) -> None:
    script = write(tmp_path, "".join(f"zz{i}\n" for i in range(20000)))
    e = expect_error(script, "unknown name 'zz0'")
    assert len(e.errors) == MAX_ERRORS and f"stopped after {MAX_ERRORS} errors" in e.format()


def test_a_script_over_the_size_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    script = write(tmp_path, "seed 1\n" * 200_000)  # 1.4 MB
    with pytest.raises(GenError, match="more than the 1,048,576 allowed"):
        check_file(script)


def test_an_include_that_is_not_utf8_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "latin1.gen").write_bytes(b"seed 1 # caf\xe9\n")
    expect_error(write(tmp_path, 'include "latin1.gen"\n'), "not UTF-8 text (byte 12)")


LONG = "a" * 300
LONG_NAMES = {
    "save": f'x = diffuse "dunes"\nsave x "{LONG}.png"\n',
    "load": f'load "{LONG}.png"\n',
    "include": f'include "{LONG}.gen"\n',
    "model": f'model "{LONG}.safetensors"\nnoise\n',
    "path": 'load "' + "d/" * 600 + 'x.png"\n',
}


@pytest.mark.parametrize("text", LONG_NAMES.values(), ids=LONG_NAMES.keys())
def test_names_longer_than_the_os_allows_are_errors(tmp_path: Path, text: str) -> None:
    with pytest.raises(GenError, match=r"at most (255|1024) bytes long"):
        check_file(write(tmp_path, text))


# ---- files that are not what they seem -------------------------------------------------------

NOT_REGULAR = {
    "load": 'load "thing.png"\n',
    "include": 'include "thing.png"\n',
    "model": 'model "thing.png"\nnoise\n',
}


@pytest.mark.parametrize("text", NOT_REGULAR.values(), ids=NOT_REGULAR.keys())
def test_a_fifo_is_refused_without_blocking(tmp_path: Path, text: str) -> None:
    os.mkfifo(tmp_path / "thing.png")  # nobody writes to it: opening it to read would block
    expect_error(write(tmp_path, text), "not a regular file")


def test_a_fifo_as_the_script_itself_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "s.gen")
    with pytest.raises(GenError, match="not a regular file"):
        check_file(tmp_path / "s.gen")


def test_a_huge_sparse_image_is_refused_before_it_is_read(tmp_path: Path) -> None:
    with open(tmp_path / "big.png", "wb") as f:
        f.truncate(6 << 30)  # 6 GiB of holes: no disk used, but hashing it reads 6 GiB
    expect_error(write(tmp_path, 'load "big.png"\n'), "more than the 268,435,456 allowed")


def test_inspect_and_verify_of_a_fifo_do_not_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "x.png")
    os.mkfifo(tmp_path / "x.json")
    for target in ("x.png", "x.json"):
        r = CliRunner().invoke(cli, ["inspect", str(tmp_path / target)])
        assert r.exit_code == 1 and "Traceback" not in r.output
    r = CliRunner().invoke(cli, ["verify", str(tmp_path)])
    assert r.exception is None or isinstance(r.exception, SystemExit)


def test_a_record_nested_too_deep_is_no_record(tmp_path: Path) -> None:
    (tmp_path / "r.json").write_text("[" * 100_000 + "]" * 100_000)
    r = CliRunner().invoke(cli, ["inspect", str(tmp_path / "r.json")])
    assert r.exit_code == 1 and "carries no gencode record" in r.output


# ---- checkpoints and diffusers folders -------------------------------------------------------

GOOD = {"family": "diffusion", "arch": "unet", "config": {}}
BAD_META: dict[str, tuple[object, str]] = {
    "size_multiple_0": ({**GOOD, "meta": {"size_multiple": 0}}, "meta.size_multiple must be"),
    "size_multiple_str": ({**GOOD, "meta": {"size_multiple": "8"}}, "got '8'"),
    "latent_scale_0": ({**GOOD, "meta": {"latent_scale": 0}}, "meta.latent_scale must be"),
    "vocabulary_int": ({**GOOD, "meta": {"vocabulary": 7}}, "meta.vocabulary must be a list"),
    "meta_a_list": ({**GOOD, "meta": [1, 2]}, "meta must be a JSON object"),
    "steps_1e7": ({**GOOD, "meta": {"defaults": {"steps": 10**7}}}, "defaults.steps must be"),
    "sampler_unknown": ({**GOOD, "meta": {"default_sampler": "magic"}}, "a sampler"),
    "guidance_nan": (
        '{"family": "diffusion", "arch": "u", "config": {}, "meta": {"default_guidance": NaN}}',
        "NaN is not a number",
    ),  # fmt: skip
    "family_unknown": ({**GOOD, "family": "oracle"}, "family must be one of"),
    "deep_meta": ({**GOOD, "meta": {"x": json.loads("[" * 200 + "]" * 200)}}, "nested more"),
    "doc_a_string": ('"just a string"', "not a JSON object"),
}


@pytest.mark.parametrize("doc, message", BAD_META.values(), ids=BAD_META.keys())
def test_bad_checkpoint_meta_is_an_error_at_the_model_line(tmp_path: Path, doc, message) -> None:
    write_checkpoint(tmp_path / "m.safetensors", doc)
    e = expect_error(write(tmp_path, 'model "m.safetensors"\nnoise\n'), message)
    assert e.errors[0].span.line == 1


def test_a_deep_safetensors_header_is_an_error(tmp_path: Path) -> None:
    header = b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    (tmp_path / "m.safetensors").write_bytes(struct.pack("<Q", len(header)) + header)
    expect_error(write(tmp_path, 'model "m.safetensors"\nnoise\n'), "nested more than")


def diffusers_folder(root: Path, outside: Path | None = None) -> Path:
    """A minimal Stable Diffusion folder: configs, tokenizer, placeholder weight files."""
    f = root / "sd"
    index = {c: ["diffusers", "X"] for c in ("unet", "vae", "text_encoder", "tokenizer")}
    files = {
        "model_index.json": {**index, "scheduler": ["diffusers", "DDIMScheduler"]},
        "unet/config.json": {"sample_size": 8},
        "vae/config.json": {"block_out_channels": [4, 4], "latent_channels": 4},
        "text_encoder/config.json": {},
        "scheduler/scheduler_config.json": {"prediction_type": "epsilon"},
        "tokenizer/vocab.json": {"a": 0},
    }
    for name, doc in files.items():
        (f / name).parent.mkdir(parents=True, exist_ok=True)
        (f / name).write_text(json.dumps(doc))
    for component, stem in (("unet", "diffusion_pytorch_model"), ("vae", "diffusion_pytorch_model"),
                            ("text_encoder", "model")):  # fmt: skip
        (f / component / f"{stem}.safetensors").write_bytes(b"weights")
    return f


def _edit(path: Path, change: Callable[[dict], object]) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def _sharded(f: Path, weight_map: object) -> None:
    (f / "unet" / "diffusion_pytorch_model.safetensors").unlink()
    index = f / "unet" / "diffusion_pytorch_model.safetensors.index.json"
    index.write_text(json.dumps({"weight_map": weight_map}))


DIFFUSERS_DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "shard_outside": (
        lambda f: _sharded(f, {"w": "../../secret/diary.txt"}),
        "which is not a file beside it",
    ),  # fmt: skip
    "shard_absolute": (
        lambda f: _sharded(f, {"w": "/etc/passwd"}),
        "which is not a file beside it",
    ),
    "weight_map_list": (lambda f: _sharded(f, ["a.safetensors"]), "weight_map must map"),
    "weight_map_ints": (lambda f: _sharded(f, {"w": 3}), "weight_map must map"),
    "block_out_empty": (
        lambda f: _edit(f / "vae/config.json", lambda d: d.update(block_out_channels=[])),
        "block_out_channels must be",
    ),  # fmt: skip
    "block_out_int": (
        lambda f: _edit(f / "vae/config.json", lambda d: d.update(block_out_channels=4)),
        "block_out_channels must be",
    ),  # fmt: skip
    "sample_size_str": (
        lambda f: _edit(f / "unet/config.json", lambda d: d.update(sample_size="64")),
        "sample_size must be",
    ),  # fmt: skip
    "latent_channels_str": (
        lambda f: _edit(f / "vae/config.json", lambda d: d.update(latent_channels="4")),
        "latent_channels must be",
    ),  # fmt: skip
}


@pytest.mark.parametrize("damage, message", DIFFUSERS_DAMAGE.values(), ids=DIFFUSERS_DAMAGE.keys())
def test_a_hostile_diffusers_folder_is_an_error(tmp_path: Path, damage, message) -> None:
    folder = diffusers_folder(tmp_path)
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "diary.txt").write_text("private")
    damage(folder)
    expect_error(write(folder.parent, 'model "sd"\ndiffuse "a fox"\n'), message)


def test_a_component_linked_outside_the_model_folder_is_never_hashed(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("GENCODE_HOME", str(tmp_path / "home"))
    project = tmp_path / "project"
    folder = diffusers_folder(project)
    secret = tmp_path / "private.txt"
    secret.write_text("private")
    weights = folder / "vae" / "diffusion_pytorch_model.safetensors"
    weights.unlink()
    weights.symlink_to(secret)
    expect_error(write(project, 'model "sd"\ndiffuse "a fox"\n'), "leads outside the model folder")
    cache = tmp_path / "home" / "file-hashes.json"
    assert not cache.exists() or str(secret) not in cache.read_text()


# ---- seeds and command lines -----------------------------------------------------------------


def test_the_largest_seed_is_accepted_and_kept_exact(tmp_path: Path) -> None:
    top, near = 2**63 - 1, 2**53 + 1
    text = f"seed {top}\nnoise\nnoise seed {near}\nnoise seed {near - 1}\n"
    graph = compile_program(check_file(write(tmp_path, text), {}))
    seeds = [n.params["seed"] for n in graph.nodes if n.op == "noise"]
    assert top in seeds and near in seeds and near - 1 in seeds


def test_a_seed_set_on_the_command_line_is_exact(tmp_path: Path) -> None:
    script = write(tmp_path, "param s = 0\nseed s\nnoise\n")
    graph = compile_program(check_file(script, {"s": str(2**63 - 1)}))
    assert [n.params["seed"] for n in graph.nodes if n.op == "noise"] == [2**63 - 1]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e999"])
def test_set_refuses_non_finite_numbers(tmp_path: Path, value: str) -> None:
    script = write(tmp_path, 'param g = 3\nguidance g\ndiffuse "dunes"\n')
    expect_error(script, f"--set g={value}: 'g' is a number", {"g": value})


def test_a_batch_of_nine_quintillion_seeds_is_refused_at_once(tmp_path: Path) -> None:
    script = write(tmp_path, 'diffuse "dunes"\n')
    args = ["batch", str(script), "--seeds", "0-9223372036854775806", "-o", str(tmp_path / "b")]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code != 0 and "more than 100,000 seeds" in r.output
    assert not (tmp_path / "b").exists()


def test_ffmpeg_is_never_handed_a_playlist(corpus: Path) -> None:
    import numpy as np

    from gencode.runtime.outputs import OutputError, write_mp4

    frames = np.zeros((2, 16, 16, 3), np.uint8)
    for playlist in ("a.m3u8", "a.wav"):  # the second is a playlist renamed .wav
        with pytest.raises(OutputError, match="not a WAV, FLAC, Ogg or MP3 file"):
            write_mp4(corpus / "x.mp4", frames, 8.0, audio=corpus / playlist)
    assert not (corpus / "x.mp4").exists()


# ---- memory and time, before anything runs --------------------------------------------------


def test_a_size_that_cannot_fit_is_refused_before_anything_runs(tmp_path: Path) -> None:
    from gencode.render import RenderError, render

    # The pixel-space model: ~2 TiB of attention scores at this size
    script = write(tmp_path, 'model scenes32\nsize 2048x2048\ndiffuse "dunes"\n')
    with pytest.raises(RenderError, match="for the sampler's network at this size"):
        render(script, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_long_render_is_announced_before_it_starts(tmp_path: Path) -> None:
    from gencode.render import render

    class Announced(Exception):
        pass

    def notice(text: str) -> None:
        raise Announced(text)  # stop here: the render itself would take many minutes

    script = write(tmp_path, "model scenes32\nsize 32\ninterpolate latent a b 10000\n")
    with pytest.raises(Announced, match=r"about \d+ minutes"):
        render(script, tmp_path / "out", notice=notice)
