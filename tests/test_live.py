"""The live engine with a tiny model: the stream equals an offline render, runs through every
kind of save without a gap, swaps on the quantize grid, cross-fades, takes number edits and
signals, and a recorded set replays to identical frame hashes."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import torch
from runtime_support import write_script

from gencode.live.engine import Engine
from gencode.live.program import load
from gencode.live.replay import render_frames, replay, stream
from gencode.live.stepper import pipeline
from gencode.render import render

pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.timeout(240)]

HEAD = 'model "tiny.safetensors"\nseed 5\nsteps 4\nstrength 0.5\n'
FLIGHT = HEAD + 'zoom 1.05\nrotate 2 + sin(time)\nanimate {0: "dunes", 3: "ocean"}\n'


def run_until(engine: Engine, want, timeout: float = 60.0) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        status = engine.status()
        if want(status):
            return status
        time.sleep(0.02)
    raise AssertionError(f"never reached; last status {engine.status()}")


def test_the_stream_of_an_endless_animate_equals_the_offline_animate(tiny_dir):
    script = write_script(tiny_dir, FLIGHT)
    finite = write_script(tiny_dir, FLIGHT.replace("animate {", "animate 5 {"), "finite.gen")
    offline = render(finite, write=False).array()  # (5, H, W, 3)
    frames = [s.pixels for s in stream(load(script), 5, pipeline("cpu"))]
    assert np.array_equal(np.stack(frames), offline)
    assert len({f.tobytes() for f in frames}) == 5  # it moves


def test_render_frames_writes_exactly_what_the_stream_shows(tiny_dir, tmp_path):
    script = write_script(tiny_dir, HEAD + "wander seed 3 every 2\n")
    written = render_frames(script, 4, tmp_path / "out", device="cpu")
    assert [p.name for p in written] == [
        "0000.png",
        "0001.png",
        "0002.png",
        "0003.png",
        "sketch.mp4",
    ]
    from PIL import Image

    shown = [s.pixels for s in stream(load(script), 4, pipeline("cpu"))]
    for png, pixels in zip(written, shown, strict=False):
        assert np.array_equal(np.asarray(Image.open(png).convert("RGB")), pixels)
    assert not np.array_equal(shown[0], shown[3])  # the walk moves


def test_the_stream_plays_through_every_kind_of_save_and_records_a_replayable_set(
    tiny_dir, tmp_path
):
    script = write_script(tiny_dir, FLIGHT)
    shown_at: list[tuple[int, float]] = []
    engine = Engine(script, fps=8, device="cpu", record=tmp_path / "set")
    engine.start()
    try:
        run_until(engine, lambda s: s["frame"] >= 3)
        watcher = _Recorder(engine, shown_at)
        steps = [
            ("broken", HEAD + 'animate {0: "dunes"} zoom 9\nbogus\n', False),
            ("empty", "", True),
            ("good", HEAD + 'crossfade 2\nanimate "forest" zoom 1.02\n', True),
            ("renamed", None, False),
            ("back", HEAD + 'animate "forest" zoom 0.98\n', True),
        ]
        for what, text, _ok in steps:
            before = engine.status()
            if text is None:
                script.rename(script.with_name("moved.gen"))
            else:
                script.write_text(text, encoding="utf-8")
            engine.changed()
            if what in ("good", "back"):
                s = run_until(engine, lambda s, b=before: s["program"] > b["program"] and s["ok"])
            elif what == "empty":
                time.sleep(0.5)
                s = engine.status()
                assert s["program"] == before["program"]  # an editor's truncate: ignored
            else:
                s = run_until(engine, lambda s: not s["ok"])
                assert s["program"] == before["program"]
                if what == "broken":
                    assert "sketch.gen:6:1: error: unknown name 'bogus'" in s["error"]
                else:
                    assert "renamed or deleted" in s["error"]
            run_until(engine, lambda s, f=s["frame"]: s["frame"] >= f + 3)  # still streaming
    finally:
        watcher.stop()
        written = engine.stop()
    status = engine.status()
    assert status["program"] == 3
    assert [p.name for p in written] == ["set.mp4", "set.set.json"]
    # No gap: each picture followed the one before within a few frame periods, swaps included.
    times = [t for _, t in shown_at]
    assert max(b - a for a, b in zip(times, times[1:], strict=False)) < 4 / 8 + 0.5
    log = json.loads((tmp_path / "set.set.json").read_text())
    assert [p["number"] for p in log["programs"]] == [1, 2, 3]
    assert len(log["errors"]) >= 2 and log["dropped"] == status["dropped"]
    result = replay(tmp_path / "set.set.json", tmp_path / "replay", device="cpu")
    assert result.frames == len(log["frames"]) > 10
    assert result.matched == result.frames  # every frame hash equal to the stream's


def test_quantize_swaps_on_the_grid_and_number_edits_and_signals_go_live_next_frame(
    tiny_dir, tmp_path
):
    text = HEAD + 'quantize 4\nanimate "dunes" zoom (1 + 0.1 * signal("knob"))\n'
    script = write_script(tiny_dir, text)
    engine = Engine(script, fps=8, device="cpu", record=tmp_path / "q")
    engine.start()
    try:
        run_until(engine, lambda s: s["frame"] >= 2)
        script.write_text(text.replace('"dunes"', '"ocean"'), encoding="utf-8")
        engine.changed()
        run_until(engine, lambda s: s["program"] == 2)
        prompt_runs = engine.executor.counts["prompt"]
        engine.set_number(4, 10, 0.9)  # the strength literal: 0.5 → 0.9
        run_until(engine, lambda s: s["program"] == 3)
        assert engine.current is not None
        assert engine.current.checked.outputs[-1].value.params["strength"] == 0.9
        engine.set_signal("knob", 0.5)
        run_until(engine, lambda s: s["signals"].get("knob") == 0.5)
        f = engine.frame
        run_until(engine, lambda s: s["frame"] >= f + 2)
    finally:
        engine.stop()
    log = json.loads((tmp_path / "q.set.json").read_text())
    first, save, number = log["programs"]
    # On the grid: at a multiple of 4, or at the first frame after it when the clock dropped it.
    shown = {f for f, _ in log["frames"]}
    beat = save["frame"] // 4 * 4
    assert save["kind"] == "save" and beat > 0
    assert not shown & set(range(beat, save["frame"]))
    assert number["kind"] == "number" and number["numbers"] == [[4, 10, 0.9]]
    assert engine.executor.counts["prompt"] == prompt_runs  # a number edit re-ran no prompt
    assert [e["kind"] for e in log["events"]] == ["numbers", "signal"]
    result = replay(tmp_path / "q.set.json", tmp_path / "replay", device="cpu")
    assert result.matched == result.frames


def test_a_crossfade_blends_from_the_picture_on_screen(tiny_dir):
    from gencode.live.stepper import Stepper

    a = load(write_script(tiny_dir, HEAD + 'animate "dunes"\n'))
    b = load(write_script(tiny_dir, HEAD + 'crossfade 3\ndiffuse "ocean"\n', "b.gen"))
    plain = load(write_script(tiny_dir, HEAD + 'diffuse "ocean"\n', "c.gen"))
    stepper = Stepper(pipeline("cpu"))
    stepper.begin(a, 0)
    old = stepper.step(a, 0, {})
    stepper.begin(b, 1)
    faded = stepper.step(b, 1, {})
    target = stream(plain, 1, pipeline("cpu")).__next__()
    amount = 1 / 4
    want = (1 - amount) * old.picture + amount * target.picture
    assert np.abs(faded.picture.numpy() - want.numpy()).max() < 1e-5
    for f in (2, 3):
        stepper.step(b, f, {})
    assert np.array_equal(stepper.step(b, 4, {}).pixels, target.pixels)  # faded in


def test_a_new_program_failing_on_its_first_frame_leaves_the_old_one_playing(tiny_dir):
    script = write_script(tiny_dir, FLIGHT)
    engine = Engine(script, fps=8, device="cpu").start()
    try:
        run_until(engine, lambda s: s["program"] == 1 and s["frame"] >= 1)
        # Checks, but fails at frame t: zoom leaves its range as t grows.
        script.write_text(HEAD + 'animate "dunes" zoom (1 + t)\n', encoding="utf-8")
        engine.changed()
        s = run_until(engine, lambda s: not s["ok"])
        assert "not swapped in" in s["error"] and "'zoom' is" in s["error"]
        assert "sketch.gen:5:1: error:" in s["error"], s["error"]  # the line that failed
        f = s["frame"]
        s = run_until(engine, lambda s: s["frame"] >= f + 3)
        assert s["program"] == 1
    finally:
        engine.stop()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_the_stream_is_made_by_the_pipeline_loader_and_honours_the_device_line(tiny_dir):
    """The engine's executor comes from `render.executor_for`, as every render's does: a script's
    `device` line counts, and one the machine lacks is an error at that line, not a crash."""
    script = write_script(tiny_dir, "device cuda\n" + FLIGHT)
    engine = Engine(script, fps=8).start()
    try:
        s = run_until(engine, lambda s: not s["ok"])
        assert "sketch.gen:1:8: error:" in s["error"] and "cuda" in s["error"]
        assert s["program"] == 0 and engine.executor is None
        script.write_text("device cpu\n" + FLIGHT, encoding="utf-8")
        engine.changed()
        run_until(engine, lambda s: s["program"] == 1 and s["frame"] >= 1)
        assert engine.executor is not None and engine.executor.device.type == "cpu"
        assert engine.log.environment["threads"] == engine.executor.threads == 1
    finally:
        engine.stop()
    engine = Engine(script, fps=8, device="cuda").start()  # `--device cuda`: said, not a crash
    try:
        s = run_until(engine, lambda s: not s["ok"])
        assert "sketch.gen:" in s["error"] and "cuda" in s["error"] and "internal" not in s["error"]
    finally:
        engine.stop()


class _Recorder:
    """Notes (frame, time) of every picture shown, from the engine's condition."""

    def __init__(self, engine: Engine, out: list[tuple[int, float]]):
        import threading

        self.engine, self.out, self.stopped = engine, out, False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        seen = -1
        while not self.stopped:
            shown = self.engine.wait_frame(seen, timeout=0.5)
            if shown is not None:
                seen = shown.frame
                self.out.append((seen, time.monotonic()))

    def stop(self) -> None:
        self.stopped = True
        self.thread.join(timeout=5)


def test_a_check_that_hangs_is_abandoned_and_later_saves_still_swap(tiny_dir, monkeypatch):
    import os

    from gencode.watch import bounded

    script = write_script(tiny_dir, FLIGHT)
    engine = Engine(script, fps=8, device="cpu").start()
    try:
        run_until(engine, lambda s: s["program"] == 1)
        monkeypatch.setattr(bounded, "CHECK_SECONDS", 1.0)
        script.unlink()
        os.mkfifo(script)  # reading it blocks until someone writes
        engine.changed()
        s = run_until(engine, lambda s: "abandoned" in (s["error"] or ""))
        run_until(engine, lambda s, f=s["frame"]: s["frame"] >= f + 3)  # the stream goes on
        fd = os.open(script, os.O_WRONLY | os.O_NONBLOCK)  # let the stuck reader go
        os.close(fd)
        script.unlink()
        script.write_text(FLIGHT.replace('"ocean"', '"forest"'), encoding="utf-8")
        monkeypatch.setattr(bounded, "CHECK_SECONDS", 30.0)
        engine.changed()
        run_until(engine, lambda s: s["program"] == 2 and s["ok"])
    finally:
        engine.stop()


def test_the_cli_renders_the_stream_and_replays_a_set(tiny_dir, tmp_path):
    from click.testing import CliRunner

    from gencode.cli.main import cli

    script = write_script(tiny_dir, FLIGHT)
    runner = CliRunner()
    out = runner.invoke(cli, ["render", str(script), "--frames", "3", "-o", str(tmp_path / "r")])
    assert out.exit_code == 0, out.output
    assert sorted(p.name for p in (tmp_path / "r" / "frames").iterdir()) == [
        "0000.png", "0001.png", "0002.png",
    ]  # fmt: skip
    engine = Engine(script, fps=8, device="cpu", record=tmp_path / "set").start()
    try:
        run_until(engine, lambda s: s["frame"] >= 4)
    finally:
        engine.stop()
    out = runner.invoke(cli, ["replay", str(tmp_path / "set.set.json"), "-o", str(tmp_path / "p")])
    assert out.exit_code == 0 and "equal the recorded ones" in out.output, out.output
    log = json.loads((tmp_path / "set.set.json").read_text())
    log["frames"][-1][1] = "0" * 64  # a frame that no longer matches: replay says which
    (tmp_path / "bad.set.json").write_text(json.dumps(log))
    out = runner.invoke(cli, ["replay", str(tmp_path / "bad.set.json"), "-o", str(tmp_path / "q")])
    assert out.exit_code == 2 and f"first: frame {log['frames'][-1][0]}" in out.output
    bad = runner.invoke(cli, ["replay", str(script), "-o", str(tmp_path / "x")])
    assert bad.exit_code == 1 and "not a readable set log" in bad.output
    # Pixels depend on the thread count: a replay renders with the recorded one unless told.
    assert log["environment"]["threads"] == 1
    log["environment"]["threads"] = 2
    (tmp_path / "two.set.json").write_text(json.dumps(log))
    assert replay(tmp_path / "two.set.json", tmp_path / "t", device="cpu").threads == 2
    out = runner.invoke(cli, ["replay", str(tmp_path / "two.set.json"), "-o", str(tmp_path / "u"),
                              "--threads", "1"])  # fmt: skip
    assert "with 1 thread" in out.output, out.output
