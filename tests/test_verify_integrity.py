"""What a verified file promises (docs/provenance.md), attacked as a file sender would: swapped
names, forged or extra chunks, display-changing chunks, trailing bytes, a deleted sidecar, an
added audio track, signatures by keys nobody trusts; and records as untrusted input to
`inspect`, `verify` and `reproduce` (malformed, deep, with terminal escapes)."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from runtime_support import write_script

from gencode.cli.main import cli
from gencode.provenance.pixels import decode_file
from gencode.provenance.signing import new_key
from gencode.runtime.outputs import RECORD_KEY, read_record, write_still

pytestmark = pytest.mark.usefixtures("one_thread")

GAN = (
    'model "gan.safetensors"\nseed 3\nsample seed 1\nsave "a.png"\nsample seed 2\nsave "b.png"\n'
    "sample from (interpolate latent x y 2) as walk\n"
)


@pytest.fixture(scope="module")
def signed(tmp_path_factory, _tiny_model_files) -> Path:
    """A signed render (two stills, two frames, a GIF and its sidecar), made once."""
    folder = tmp_path_factory.mktemp("signed")
    for f in _tiny_model_files.iterdir():
        shutil.copy2(f, folder / f.name)
    mp = pytest.MonkeyPatch()
    mp.setenv("GENCODE_HOME", str(folder / "home"))
    try:
        new_key()
        res = CliRunner().invoke(cli, ["render", str(write_script(folder, GAN)), "-o", str(folder / "out"), "--sign", "-q"])  # fmt: skip
        assert res.exit_code == 0, res.output
    finally:
        mp.undo()
    return folder


@pytest.fixture
def out(signed: Path, tmp_path: Path, monkeypatch) -> Path:
    """A copy of the signed render to tamper with; the signing key is one you trust."""
    monkeypatch.setenv("GENCODE_HOME", str(signed / "home"))
    shutil.copytree(signed / "out", tmp_path / "out")
    return tmp_path / "out"


def verify(*args: str) -> tuple[int, list[str], str]:
    res = CliRunner().invoke(cli, ["verify", *args])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return (
        res.exit_code,
        [ln for ln in res.output.splitlines() if ln.startswith("FAIL")],
        res.output,
    )


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def insert_chunk(path: Path, new: bytes, before: bytes) -> None:
    """Put a chunk just before the first chunk of type `before`."""
    data = path.read_bytes()
    at = data.index(before) - 4
    path.write_bytes(data[:at] + new + data[at:])


def test_the_untouched_render_verifies_and_says_who_signed(out: Path) -> None:
    code, fails, text = verify(str(out), "--require-signature")
    assert code == 0 and fails == [], text
    assert "(default, trusted): 5 files" in text


def test_swapped_file_names_fail(out: Path) -> None:
    (out / "a.png").rename(out / "tmp.png")
    (out / "b.png").rename(out / "a.png")
    (out / "tmp.png").rename(out / "b.png")
    code, fails, _ = verify(str(out / "a.png"), "--key", "default")
    assert code == 1
    assert fails == [f"FAIL {out / 'a.png'}: the record is of the file 'b.png', not this one (renamed or swapped?)"]  # fmt: skip


def test_a_forged_record_chunk_before_the_real_one_fails(out: Path) -> None:
    forged = read_record(out / "a.png") | {"prompt": "forged"}
    insert_chunk(out / "a.png", chunk(b"iTXt", RECORD_KEY.encode() + b"\0\0\0\0\0" + json.dumps(forged).encode()), b"iTXt")  # fmt: skip
    code, fails, _ = verify(str(out / "a.png"))
    assert code == 1 and any("2 'gencode' chunks: other readers may show a forged one" in f for f in fails)  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "body", "where", "says"),
    [
        (b"tEXt", b"parameters\0forged prompt", b"IEND", "chunks after the image data"),
        (
            b"gAMA",
            struct.pack(">I", 10000),
            b"IDAT",
            "chunks gencode does not write, which change what a viewer shows: gAMA",
        ),  # fmt: skip
        (b"tRNS", struct.pack(">HHH", 0, 0, 0), b"IDAT", "tRNS"),
        (b"eXIf", b"MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0", b"IDAT", "eXIf"),
        (b"acTL", struct.pack(">II", 2, 0), b"IDAT", "acTL"),
    ],
)
def test_chunks_that_change_what_a_viewer_shows_fail(out: Path, kind, body, where, says) -> None:
    insert_chunk(out / "a.png", chunk(kind, body), where)
    code, fails, _ = verify(str(out / "a.png"), "--key", "default")
    assert code == 1 and any(says in f for f in fails), fails


def test_bytes_after_the_end_fail(out: Path) -> None:
    with open(out / "b.png", "ab") as f:
        f.write(b"<script>hidden</script>")
    code, fails, _ = verify(str(out / "b.png"), "--key", "default")
    assert code == 1 and fails == [f"FAIL {out / 'b.png'}: 23 bytes after the end of the PNG"]


def test_a_gif_whose_sidecar_was_deleted_fails(out: Path) -> None:
    (out / "walk.gif.json").unlink()
    code, fails, _ = verify(str(out), "--key", "default")
    assert code == 1
    assert fails == [f"FAIL {out / 'walk.gif'}: its sidecar walk.gif.json is missing (deleted, or the pair was split)"]  # fmt: skip


def test_a_signature_by_a_key_you_do_not_trust(out: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(
        "GENCODE_HOME", str(tmp_path / "stranger")
    )  # the signer's key is unknown here
    code, fails, text = verify(str(out / "a.png"))
    assert code == 0 and "not one of your trusted keys" in text and "unknown key, NOT trusted" in text  # fmt: skip
    code, fails, _ = verify(str(out / "a.png"), "--require-signature")
    assert code == 1 and "which is not one of your trusted keys" in fails[0]


def test_an_mp4_with_an_added_audio_track_fails(tiny_dir: Path) -> None:
    import imageio_ffmpeg

    text = 'model "gan.safetensors"\nsample from (interpolate latent a b 3)\nsave "walk.mp4"\n'
    res = CliRunner().invoke(cli, ["render", str(write_script(tiny_dir, text)), "-o", str(tiny_dir / "o"), "-q"])  # fmt: skip
    assert res.exit_code == 0, res.output
    video, tmp = tiny_dir / "o/walk.mp4", tiny_dir / "o/x.mp4"
    assert verify(str(video))[0] == 0
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(video), "-f", "lavfi", "-i", "sine=duration=0.3",  # fmt: skip
           "-map", "0", "-map", "1", "-c:v", "copy", "-c:a", "aac", "-map_metadata", "0", str(tmp)]  # fmt: skip
    subprocess.run(cmd, check=True)
    tmp.replace(video)  # the same frames, tags and sidecar: only a soundtrack was added
    code, fails, _ = verify(str(video))
    assert code == 1 and any("1 audio streams, the record says 0" in f for f in fails), fails


# ---- records are untrusted input ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"output": "x.png"}, "output"),
        ({"output": {"file": "a.png", "node": "k", "fps": "fast", "frames": 2}}, "output/fps"),
        ({"script": {"file": "s.gen", "sha256": "0" * 64}}, "script"),
        ({"pixels": "deadbeef"}, "pixels"),
        (
            {"script": {"file": "s.gen", "sha256": "0" * 64, "source": "", "sets": [1]}},
            "script/sets",
        ),  # fmt: skip
    ],
)
def test_malformed_records_are_clean_errors_everywhere(tmp_path: Path, change, where) -> None:
    good = {"schema": "gencode.record/1", "script": {"file": "s.gen", "sha256": "0" * 64, "source": ""},
            "output": {"file": "a.png", "node": "k"}, "pixels": {"sha256": "0" * 64, "shape": [4, 4, 3]}}  # fmt: skip
    path = write_still(tmp_path / "a.png", decode_blank(), good | change)
    for command in (["inspect"], ["inspect", "--json"], ["reproduce"], ["verify"]):
        res = CliRunner().invoke(cli, [*command, str(path)])
        assert isinstance(res.exception, SystemExit), (command, res.exception)  # no traceback
        assert res.exit_code != 0 and f"malformed record: {where}" in res.output, (command, res.output)  # fmt: skip


def decode_blank():
    import numpy as np

    return np.zeros((4, 4, 3), np.uint8)


def test_a_deeply_nested_record_is_refused_without_recursion(tmp_path: Path) -> None:
    deep = '{"schema":"gencode.record/1","x":' + "[" * 100_000 + "]" * 100_000 + "}"
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_itxt(RECORD_KEY, deep)
    Image.new("RGB", (4, 4)).save(tmp_path / "deep.png", pnginfo=info)
    for command in ("inspect", "reproduce", "verify"):
        res = CliRunner().invoke(cli, [command, str(tmp_path / "deep.png")])
        assert isinstance(res.exception, SystemExit | None) and "nests deeper than" in res.output, (command, res.output)  # fmt: skip


def test_inspect_escapes_terminal_control_characters(out: Path) -> None:
    path = out / "a.png"
    write_still(path, decode_file(path), read_record(path) | {"prompt": "\x1b]0;pwned\x07\x1b[2Jred\u202e"})  # fmt: skip
    res = CliRunner().invoke(cli, ["inspect", str(path)])
    assert res.exit_code == 0 and "\x1b" not in res.output and "\u202e" not in res.output
    assert "\\x1b]0;pwned\\x07\\x1b[2Jred\\u202e" in res.output
    res = CliRunner().invoke(cli, ["inspect", "--json", str(path)])
    assert "\x1b" not in res.output and json.loads(res.output)["prompt"].startswith("\x1b]0;")


def test_inspect_shows_a_batch_item_readably(tmp_path: Path) -> None:
    record = {"schema": "gencode.record/1", "script": {"file": "s.gen", "sha256": "0" * 64, "source": ""},
              "output": {"file": "a.png", "node": "k"}, "pixels": {"sha256": "0" * 64, "shape": [4, 4, 3]},
              "batch": {"item": "seed-0003-g-2.5", "seed": 3, "sweep": {"g": "2.5"}}}  # fmt: skip
    path = write_still(tmp_path / "a.png", decode_blank(), record)
    res = CliRunner().invoke(cli, ["inspect", str(path)])
    assert "batch     item seed-0003-g-2.5, seed 3, sweep g=2.5" in res.output, res.output
    assert "{" not in res.output
