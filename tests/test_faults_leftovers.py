"""Faults and leftovers: temp files of killed writes swept by the next render and by verify,
scratch folders swept after kill -9, a GIF and its sidecar never left disagreeing, a full disk
or an unusable output folder as a clean error, a full cache only a warning, two saves of one
file refused by `check`, and `gencode batch` stoppable with Ctrl-C when started in the background."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from runtime_support import write_script

from gencode.cli.main import cli
from gencode.runtime.atomic import TEMP_MARK

pytestmark = pytest.mark.usefixtures("one_thread")

FACE = 'model "gan.safetensors"\nsample seed 1 as face\n'


def run(*args: str):
    res = CliRunner().invoke(cli, list(args))
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res


def test_two_saves_of_one_file_are_a_check_error_naming_both_lines(tiny_dir: Path) -> None:
    text = (
        'model "gan.safetensors"\nsample seed 1\nsave "x.png"\nsample seed 2\nsave "x.png"\n'
        'sample from (interpolate latent a b 4)\nsave "f/{frame:04}.png"\nsample seed 3\nsave "./f/0002.png"\n'
    )  # fmt: skip
    res = run("check", str(write_script(tiny_dir, text)))
    assert res.exit_code == 1
    assert "sketch.gen:5:1: error: 'x.png' is also written by the save on line 3" in res.output
    assert "sketch.gen:9:1: error: 'f/0002.png' is also written by the save on line 7" in res.output


def test_the_next_render_removes_temp_files_of_killed_writes_only(tiny_dir: Path) -> None:
    out = tiny_dir / "out"
    out.mkdir()
    dead = out / f".face.p999999999-ab12{TEMP_MARK}.png"
    live = out / f".face.p{os.getppid()}-cd34{TEMP_MARK}.png"  # a writer still running
    dead.write_bytes(b"half")
    live.write_bytes(b"half")
    res = run("render", str(write_script(tiny_dir, FACE)), "-o", str(out))
    assert res.exit_code == 0, res.output
    assert f"removed {dead}, a temp file left by an interrupted write" in res.output
    assert not dead.exists() and live.exists()


def test_verify_reports_and_removes_a_stale_temp_file(tiny_dir: Path) -> None:
    out = tiny_dir / "out"
    assert run("render", str(write_script(tiny_dir, FACE)), "-o", str(out), "-q").exit_code == 0
    dead = out / f".face.p999999999-ab12{TEMP_MARK}.png"
    dead.write_bytes(b"half")
    res = run("verify", str(out))
    assert res.exit_code == 0 and f"note {dead}: removed a temp file left by an interrupted write" in res.output  # fmt: skip
    assert not dead.exists()


def test_scratch_folders_of_killed_renders_are_swept(tmp_path: Path, monkeypatch) -> None:
    import tempfile

    from gencode.provenance.pixels import as_written

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = tmp_path / "gencode-scratch-p999999999-x1"
    legacy = tmp_path / "gencode-mp4-old"
    fresh_legacy = tmp_path / "gencode-px-new"  # perhaps an older gencode still running
    for d in (dead, legacy, fresh_legacy):
        (d / "sub").mkdir(parents=True)
    os.utime(legacy, (time.time() - 2 * 86400,) * 2)
    frames = np.zeros((2, 8, 8, 3), np.uint8)
    frames[1] = 200
    assert as_written(frames, ".gif", 10).shape == (2, 8, 8, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gencode-px-new"]  # ours is gone too


def test_a_crash_between_a_gif_and_its_sidecar_leaves_no_stale_sidecar(tmp_path: Path, monkeypatch) -> None:  # fmt: skip
    import gencode.runtime.outputs as O

    frames = np.zeros((2, 8, 8, 3), np.uint8)
    O.write_animation(tmp_path / "walk.gif", frames, 10, {"v": 1}, sidecar=True)
    assert O.sidecar_path(tmp_path / "walk.gif").read_text() == '{"v":1}\n'

    def crash(*a, **k):
        raise KeyboardInterrupt  # killed while the new GIF is encoded

    monkeypatch.setattr(O, "write_gif", crash)
    with pytest.raises(KeyboardInterrupt):
        O.write_animation(tmp_path / "walk.gif", frames + 9, 10, {"v": 2}, sidecar=True)
    assert not O.sidecar_path(
        tmp_path / "walk.gif"
    ).exists()  # never the old sidecar beside a new GIF


def test_a_full_disk_is_a_clean_error_and_keeps_the_old_file(tiny_dir: Path, monkeypatch) -> None:
    import gencode.runtime.outdir as D

    script, out = write_script(tiny_dir, FACE), tiny_dir / "out"
    assert run("render", str(script), "-o", str(out), "-q").exit_code == 0
    before = (out / "face.png").read_bytes()

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(D, "_sync", full)
    res = run("render", str(script), "-o", str(out), "-q")
    assert res.exit_code == 1 and "No space left on device" in res.output, res.output
    assert (out / "face.png").read_bytes() == before
    assert not [p for p in out.iterdir() if TEMP_MARK in p.name]


def test_a_full_cache_folder_only_warns(tiny_dir: Path, monkeypatch) -> None:
    from gencode.render import render
    from gencode.runtime.cache import DiskCache

    def full(self, key, value):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(DiskCache, "_put", full)
    with pytest.warns(UserWarning, match="can't store values .No space left on device.; rendering on"):  # fmt: skip
        result = render(write_script(tiny_dir, FACE), tiny_dir / "out", cache=tiny_dir / "cache", device="cpu")  # fmt: skip
    assert [p.name for p in result.written] == ["face.png"]


def test_an_output_folder_under_a_file_or_in_proc_is_a_clean_error(tiny_dir: Path) -> None:
    (tiny_dir / "file").write_text("x")
    script = str(write_script(tiny_dir, FACE))
    res = run("render", script, "-o", str(tiny_dir / "file" / "out"), "-q")
    assert res.exit_code == 1 and "is a file, not a folder" in res.output, res.output
    res = run("render", script, "-o", "/proc/self/gencode-out", "-q")
    assert res.exit_code == 1 and "can't write" in res.output, res.output


@pytest.mark.timeout(180)
def test_batch_started_in_the_background_stops_on_ctrl_c(tiny_dir: Path) -> None:
    script, out = write_script(tiny_dir, 'model "gan.safetensors"\nparam s = 0\nseed s\nsample as face\n'), tiny_dir / "b"  # fmt: skip
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "gencode", "batch", str(script), "-o", str(out), "--seeds", "0-9999", "-q", "--threads", "1"]  # fmt: skip
    # A script's background job: SIGINT arrives ignored, and Python keeps it ignored.
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not (out / "catalog.sqlite").is_file() and time.monotonic() < deadline and proc.poll() is None:  # fmt: skip
            time.sleep(0.1)
        time.sleep(1)  # into the items
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
        assert b"interrupted: finished items are kept" in proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()
