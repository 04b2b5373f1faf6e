"""Output writers: stills, frame patterns, GIF, MP4, records, atomic writes, path confinement."""

from __future__ import annotations

import json
import os
from dataclasses import replace

import imageio.v3 as iio
import imageio_ffmpeg
import numpy as np
import pytest
import torch
from PIL import Image

from gencode.graph import Graph, Node, Output
from gencode.runtime import atomic, video
from gencode.runtime.outputs import (
    OutputError,
    gif_durations,
    read_image,
    read_record,
    safe_path,
    sidecar_path,
    to_uint8,
    write_animation,
    write_gif,
    write_mp4,
    write_outputs,
    write_still,
)


def frames(n: int, h: int = 8, w: int = 10, seed: int = 0) -> torch.Tensor:
    """Distinct random frames (N, 3, H, W) on the 8-bit grid, so round trips can be exact."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, h, w), generator=g).float() / 255


def output(path: str, n: int | None, animation: str | None = None, fps: float = 10) -> Output:
    node = Node.make("const", {"path": path}, (), "images" if n else "image", n)
    return Output("out", node, path, fps, animation)


def files(folder) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


# ---- pixels ----------------------------------------------------------------------------------


def test_to_uint8_rounds_and_clips_without_wrapping():
    x = torch.tensor([1.2, -0.1, 0.5, 2 / 255 + 0.001, float("nan"), 1e9, -1e9])
    got = to_uint8(x.view(1, 1, 7).expand(3, 1, 7))
    assert got.shape == (1, 7, 3) and got.dtype == np.uint8
    assert got[0, :, 0].tolist() == [255, 0, 128, 2, 0, 255, 0]


def test_to_uint8_layouts():
    assert to_uint8(torch.zeros(2, 3, 4, 5)).shape == (2, 4, 5, 3)
    with pytest.raises(OutputError, match="expected an image"):
        to_uint8(torch.zeros(4, 8, 8))  # a latent is not an image


def test_png_round_trip_is_exact(tmp_path):
    x = frames(1)[0]
    write_still(tmp_path / "a.png", to_uint8(x))
    assert torch.equal(read_image(tmp_path / "a.png"), x)


@pytest.mark.parametrize("name", ["a.png", "a.jpg", "a.webp"])
def test_still_records_round_trip(tmp_path, name):
    record = {"seed": 42, "prompt": "dunes — at dawn", "nested": {"a": [1, 2]}}
    write_still(tmp_path / name, to_uint8(frames(1)[0]), record)
    assert read_record(tmp_path / name) == record
    write_still(tmp_path / name, to_uint8(frames(1)[0]))
    assert read_record(tmp_path / name) is None


def test_png_record_is_an_itxt_chunk_named_gencode(tmp_path):
    write_still(tmp_path / "a.png", to_uint8(frames(1)[0]), {"k": "ü"})
    data = (tmp_path / "a.png").read_bytes()
    assert b"iTXtgencode\x00" in data
    with Image.open(tmp_path / "a.png") as img:
        assert img.text["gencode"] == '{"k":"ü"}'


def test_webp_is_lossless(tmp_path):
    x = frames(1)[0]
    write_still(tmp_path / "a.webp", to_uint8(x))
    assert torch.equal(read_image(tmp_path / "a.webp"), x)


# ---- outputs of a graph ----------------------------------------------------------------------


def test_frame_pattern_names_animation_and_records(tmp_path):
    out = output("walk/{frame:04}.png", 3, animation="walk.gif")
    seen = []

    def records(o, frame, px, decoded=None):
        seen.append((frame, px.shape))
        return {"frame": frame}

    value = frames(3)
    paths = write_outputs(Graph(outputs=[out]), {out.node.key: value}, tmp_path, records)
    names = ["walk/0000.png", "walk/0001.png", "walk/0002.png", "walk.gif"]
    assert paths == [tmp_path / n for n in names]
    assert files(tmp_path) == sorted(names)
    assert seen == [(0, (8, 10, 3)), (1, (8, 10, 3)), (2, (8, 10, 3)), (None, (3, 8, 10, 3))]
    assert read_record(tmp_path / "walk/0001.png") == {"frame": 1}
    assert torch.equal(read_image(tmp_path / "walk/0002.png"), value[2])


def test_still_output_and_missing_value(tmp_path):
    out = output("art/dunes.png", None)
    write_outputs(Graph(outputs=[out]), {out.node.key: frames(1)[0]}, tmp_path)
    assert files(tmp_path) == ["art/dunes.png"]
    write_outputs(Graph(outputs=[out]), {"out": frames(1)[0]}, tmp_path / "by_name")  # RunResult
    assert files(tmp_path / "by_name") == ["art/dunes.png"]
    with pytest.raises(OutputError, match="not computed"):
        write_outputs(Graph(outputs=[out]), {}, tmp_path)


@pytest.mark.parametrize("rel", ["../x.png", "/tmp/x.png", "a/../../x.png", ""])
def test_paths_escaping_the_output_folder_are_refused(tmp_path, rel):
    with pytest.raises(OutputError, match="output folder"):
        safe_path(tmp_path / "out", rel)


def test_symlinked_folder_leading_outside_is_refused(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "out" / "link")
    out = output("link/x.png", None)
    with pytest.raises(OutputError, match="leads outside"):
        write_outputs(Graph(outputs=[out]), {out.node.key: frames(1)[0]}, tmp_path / "out")
    assert files(tmp_path / "elsewhere") == []


# ---- animations ------------------------------------------------------------------------------


def test_gif_frame_count_durations_loop_and_record(tmp_path):
    write_gif(tmp_path / "a.gif", to_uint8(frames(5)), fps=10, record={"n": 5})
    assert iio.imread(tmp_path / "a.gif", index=None).shape == (5, 8, 10, 3)
    durations = [iio.immeta(tmp_path / "a.gif", index=i)["duration"] for i in range(5)]
    assert durations == [100] * 5
    assert iio.immeta(tmp_path / "a.gif")["loop"] == 0
    assert read_record(tmp_path / "a.gif") == {"n": 5}


def test_gif_durations_keep_the_total_exact():
    d = gif_durations(24, 12)
    assert set(d) == {80, 90} and sum(d) == 2000
    assert gif_durations(3, 100) == [20, 20, 20]  # browsers slow delays under 20 ms


def test_mp4_frame_count_fps_even_size_and_record(tmp_path):
    value = to_uint8(frames(7, h=31, w=33))  # odd sides: padded to 34x32
    write_mp4(tmp_path / "a.mp4", value, fps=12, record={"seed": 1, "text": "a=b;c#d\\e\nf"})
    n, secs = imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "a.mp4"))
    reader = imageio_ffmpeg.read_frames(str(tmp_path / "a.mp4"))
    meta = next(reader)
    reader.close()
    assert n == 7 and meta["fps"] == 12 and meta["size"] == (34, 32)
    assert meta["codec"] == "h264" and meta["pix_fmt"].startswith("yuv420p")
    assert read_record(tmp_path / "a.mp4") == {"seed": 1, "text": "a=b;c#d\\e\nf"}


def test_mp4_carries_a_record_too_large_for_a_command_line(tmp_path):
    """A long script (its source is in the record) still gets its record into the MP4."""
    record = {"script": {"source": 'diffuse "dunes" # =;\\\n' * 20_000}}  # ~400 KB
    write_mp4(tmp_path / "long.mp4", to_uint8(frames(2, 16, 16)), fps=8, record=record)
    assert read_record(tmp_path / "long.mp4") == record


def test_sequence_saved_as_mp4_only(tmp_path):
    out = output("walk.mp4", 4, fps=24)
    write_outputs(Graph(outputs=[out]), {out.node.key: frames(4, h=16, w=16)}, tmp_path)
    assert files(tmp_path) == ["walk.mp4"]
    assert imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "walk.mp4"))[0] == 4


# ---- atomic writes ---------------------------------------------------------------------------


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_failed_still_write_keeps_the_old_file(tmp_path, monkeypatch, error):
    target = tmp_path / "a.png"
    write_still(target, to_uint8(frames(1)[0]))
    before = target.read_bytes()

    def broken_save(self, fp, *args, **kwargs):
        fp.write(b"\x89PNG half a file")  # the images are saved into an open temp file
        raise error

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(type(error)):
        write_still(target, to_uint8(frames(1, seed=1)[0]))
    assert target.read_bytes() == before
    assert files(tmp_path) == ["a.png"]


def test_failed_fsync_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "a.png"
    write_still(target, to_uint8(frames(1)[0]))
    before = target.read_bytes()
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError("EIO")))
    with pytest.raises(OSError, match="EIO"):
        write_still(target, to_uint8(frames(1, seed=1)[0]))
    assert target.read_bytes() == before and files(tmp_path) == ["a.png"]


def test_mp4_interrupted_mid_stream_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "a.mp4"
    write_mp4(target, to_uint8(frames(3, 16, 16)), fps=8)
    before = target.read_bytes()

    def interrupted(self, input=None, timeout=None):
        self.stdin.write(bytes(input[: len(input) // 2]))  # ffmpeg has half the frames
        self.stdin.flush()
        raise KeyboardInterrupt

    monkeypatch.setattr(video.subprocess.Popen, "communicate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_mp4(target, to_uint8(frames(6, 16, 16, seed=1)), fps=8)
    assert target.read_bytes() == before and files(tmp_path) == ["a.mp4"]


def test_mp4_encoder_failure_is_reported_and_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "a.mp4"
    write_mp4(target, to_uint8(frames(3, 16, 16)), fps=8)
    before = target.read_bytes()
    bad = video.FORMATS[".mp4"].options | {"crf": "not-a-number"}
    monkeypatch.setitem(video.FORMATS, ".mp4", replace(video.FORMATS[".mp4"], options=bad))
    with pytest.raises(OutputError, match="ffmpeg could not write the MP4"):
        write_mp4(target, to_uint8(frames(3, 16, 16, seed=1)), fps=8)
    assert target.read_bytes() == before and files(tmp_path) == ["a.mp4"]


def test_sweep_removes_orphaned_temp_files_only(tmp_path):
    (tmp_path / "sub").mkdir()
    orphan = tmp_path / "sub" / f".a.1234abcd{atomic.TEMP_MARK}.png"
    orphan.write_bytes(b"half")
    (tmp_path / "sub" / "a.png").write_bytes(b"whole")
    assert atomic.sweep_temp_files(tmp_path) == [orphan]
    assert files(tmp_path) == ["sub/a.png"]


def test_an_animation_with_a_record_is_encoded_once(tmp_path, monkeypatch):
    """The record names the pixels a reader decodes; they come from the one encode that wrote
    the file (a GIF's comment is spliced in, an MP4 remuxed), not from a second encode."""
    from gencode.provenance.pixels import decode_file, pixel_sha256

    encodes = {"gif": 0, "mp4": 0}
    imwrite, run = video.iio.imwrite, video._run_ffmpeg

    def count_gif(*a, **k):
        encodes["gif"] += 1
        return imwrite(*a, **k)

    def count_mp4(cmd, frames):
        encodes["mp4"] += frames is not None  # a remux pipes no frames
        return run(cmd, frames)

    monkeypatch.setattr(video.iio, "imwrite", count_gif)
    monkeypatch.setattr(video, "_run_ffmpeg", count_mp4)
    px = to_uint8(frames(5, 16, 16, seed=3))
    for suffix in ("gif", "mp4"):
        target = tmp_path / f"a.{suffix}"
        seen = []

        def record(decoded, seen=seen):
            seen.append(decoded)
            return {"schema": "gencode.record/1", "pixels": pixel_sha256(decoded)}

        write_animation(target, px, 8, record, sidecar=True)
        assert encodes[suffix] == 1, f"{suffix} encoded {encodes[suffix]} times"
        decoded = decode_file(target)
        assert np.array_equal(seen[0], decoded)  # the record saw what a reader gets
        assert read_record(target) == {
            "schema": "gencode.record/1",
            "pixels": pixel_sha256(decoded),
        }
        assert json.loads(sidecar_path(target).read_text()) == read_record(target)


@pytest.mark.usefixtures("one_thread")
def test_a_render_encodes_each_animation_once_records_included(tiny_dir, monkeypatch):
    from gencode import render as R

    calls = []
    imwrite = video.iio.imwrite
    monkeypatch.setattr(video.iio, "imwrite", lambda *a, **k: calls.append(1) or imwrite(*a, **k))
    Image.new("RGB", (16, 16), (200, 40, 0)).save(tiny_dir / "red.png")
    Image.new("RGB", (16, 16), (0, 40, 200)).save(tiny_dir / "blue.png")
    script = tiny_dir / "walk.gen"
    script.write_text(
        'model "tiny.safetensors"\nsize 16\n'
        'interpolate image (load "red.png") (load "blue.png") 4 as walk\n',
        encoding="utf-8",
    )
    result = R.render(script, tiny_dir / "out")
    gif = tiny_dir / "out" / "walk.gif"
    assert gif in result.written and len(calls) == 1
    assert read_record(gif)["output"]["frames"] == 4
