"""The live stream's per-frame work: a frame re-keys only what varies, an unchanged program is
checked once, colour matching sorts its anchor once (and ranks exactly as before), and the
similarity filter reuses a settled picture, deterministically, through a recorded replay."""

from __future__ import annotations

import json
import time

import pytest
import torch
from runtime_support import write_script

import gencode.compile as compile_module
import gencode.live.engine as engine_module
from gencode import types as T
from gencode.compile import compile_program
from gencode.graph import Graph, Node
from gencode.live.engine import Engine
from gencode.live.program import load
from gencode.live.replay import replay, stream
from gencode.live.similar import MAX_SKIPS, Filter, signature, similarity
from gencode.live.stepper import pipeline
from gencode.runtime import ops_motion
from gencode.source import NOSPAN

pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.timeout(240)]

HEAD = 'model "tiny.safetensors"\nseed 5\nsteps 4\n'
# No motion, one seed, a light touch: the tiny model's picture settles within a few frames.
SETTLED = HEAD + "strength 0.3\nseed_mode fixed\nskip_similar 0.98\n" + 'animate "dunes"\n'
PICTURES = {"previous": "a" * 64, "anchor": "b" * 64}


def _counting_make(monkeypatch) -> list[str]:
    made: list[str] = []
    real = Node.make

    def make(op, params, inputs, type, length=None, span=NOSPAN):
        made.append(op)
        return real(op, params, inputs, type, length, span)

    monkeypatch.setattr(compile_module.Node, "make", make)
    return made


def test_a_frame_rekeys_only_what_varies_with_the_frame(tiny_dir, monkeypatch):
    p = load(write_script(tiny_dir, HEAD + 'animate "dunes" zoom (1 + 0.01 * t)\n'))
    first = p.graph(0, {}, PICTURES)
    made = _counting_make(monkeypatch)
    second = p.graph(1, {}, PICTURES)
    # The two prompts (cond, uncond) are the same at every frame: kept, not lowered again.
    assert sorted(made) == ["feedback", "picture", "picture"]
    kept = {n.key: n for n in first.nodes if n.op == "prompt"}
    assert all(kept[n.key] is n for n in second.nodes if n.op == "prompt")
    # … and the frame's graph is exactly what a fresh compile gives.
    fresh = compile_program(p.shown, 1, {}, PICTURES)
    assert [n.key for n in second.nodes] == [n.key for n in fresh.nodes]
    assert second.outputs[0].node.key == fresh.outputs[0].node.key
    assert p.compiles == 2


def test_a_still_is_lowered_once_and_only_the_shown_output_compiles(tiny_dir, monkeypatch):
    p = load(write_script(tiny_dir, HEAD + 'diffuse "ocean" as a\ndiffuse "dunes"\n'))
    first = p.graph(0, {}, PICTURES)
    texts = {n.params["text"] for n in first.nodes if n.op == "prompt"}
    assert "dunes" in texts and "ocean" not in texts  # only the output the stream shows
    made = _counting_make(monkeypatch)
    again = p.graph(7, {}, PICTURES)
    assert made == []  # nothing in it depends on the frame
    assert [n.key for n in again.nodes] == [n.key for n in first.nodes]


def test_an_unchanged_program_is_checked_once_and_compiled_once_a_frame(tiny_dir, monkeypatch):
    loads = []
    real = engine_module.load
    monkeypatch.setattr(engine_module, "load", lambda *a: loads.append(1) or real(*a))
    script = write_script(tiny_dir, HEAD + 'strength 0.5\nanimate "dunes" zoom 1.02\n')
    engine = Engine(script, fps=8, device="cpu").start()
    try:
        end = time.monotonic() + 60
        while engine.frame < 4 and time.monotonic() < end:
            time.sleep(0.02)
    finally:
        engine.stop()
    assert engine.frame >= 4 and len(loads) == 1
    assert engine.current is not None
    assert engine.current.compiles == len(engine.step_seconds)


def _two_searches(rows: torch.Tensor, ref_rows: torch.Tensor) -> torch.Tensor:
    """The histogram match as first written: mid-ranks from two binary searches per value."""
    p, q = rows.shape[-1], ref_rows.shape[-1]
    ordered = rows.sort(dim=-1).values
    lo = torch.searchsorted(ordered, rows.contiguous(), right=False)
    hi = torch.searchsorted(ordered, rows.contiguous(), right=True)
    pos = (lo + hi - 1).to(rows.dtype) / (2 * max(p - 1, 1)) * (q - 1)
    ref_sorted = ref_rows.sort(dim=-1).values
    i0 = pos.floor().long().clamp(0, q - 1)
    i1 = (i0 + 1).clamp(max=q - 1)
    v0, v1 = ref_sorted.gather(-1, i0), ref_sorted.gather(-1, i1)
    return v0 + (v1 - v0) * (pos - i0.to(pos.dtype))


def test_histogram_matching_ranks_ties_exactly_as_two_binary_searches():
    g = torch.Generator().manual_seed(3)
    coarse = (torch.rand(6, 500, generator=g) * 7).round() / 7  # few levels: ties everywhere
    fine = torch.rand(6, 321, generator=g)
    ref = torch.rand(6, 400, generator=g)
    for rows in (coarse, fine, torch.full((2, 9), 0.5)):
        r = ref[: rows.shape[0]]
        assert torch.equal(ops_motion.match_histograms(rows, r), _two_searches(rows, r))


def test_colormatch_sorts_its_reference_once_until_it_changes(monkeypatch):
    calls = []
    real = ops_motion.TO_SPACE["lab"]
    monkeypatch.setitem(ops_motion.TO_SPACE, "lab", lambda x: calls.append(1) or real(x))
    g = torch.Generator().manual_seed(4)
    x, y, ref = (torch.rand(3, 12, 10, generator=g) for _ in range(3))
    node = Node("colormatch", T.IMAGE, {"space": "lab"})
    a = ops_motion.colormatch(None, node, [x, ref])  # type: ignore[arg-type]
    b = ops_motion.colormatch(None, node, [y, ref])  # type: ignore[arg-type]
    assert len(calls) == 3  # x, ref, y: the reference converted (and sorted) once
    ref.mul_(0.5)  # changed in place: sorted again, and the result follows
    c = ops_motion.colormatch(None, node, [x, ref])  # type: ignore[arg-type]
    assert len(calls) == 5 and not torch.equal(a, c) and not torch.equal(a, b)


def test_the_similarity_filter_reuses_a_settled_picture_and_replays_the_same(tiny_dir):
    script = write_script(tiny_dir, SETTLED)
    runs = []
    for _ in range(2):
        made = pipeline("cpu")
        shown = list(stream(load(script), 16, made))
        runs.append((shown, made(load(script)).counts["feedback"]))
    (shown, ran), (again, _) = runs
    reused = [s.frame for s, b in zip(shown[1:], shown, strict=False) if s.key == b.key]
    assert reused and min(reused) >= 2  # the first frames still move: none is skipped
    assert ran == 16 - len(reused)  # a reused frame runs nothing
    assert [s.sha256 for s in shown] == [s.sha256 for s in again]
    off = list(stream(load(write_script(tiny_dir, SETTLED.replace("0.98", "0"), "off.gen")), 16,
                      pipeline("cpu")))  # fmt: skip
    assert len({s.key for s in off}) == 16


def test_the_filter_needs_the_same_program_a_similar_start_and_stops_after_max_skips():
    p = torch.rand(3, 8, 8, generator=torch.Generator().manual_seed(1))
    feedback = Node.make("feedback", {"frame": 1, "zoom": 1}, (), T.IMAGE)
    moved = Node.make("feedback", {"frame": 2, "zoom": 1.1}, (), T.IMAGE)
    prev = Node.make("picture", {"slot": "previous", "of": "k"}, (), T.IMAGE)
    g, h = Graph([prev, feedback]), Graph([prev, moved])
    assert signature(g) == signature(
        Graph([prev, Node.make("feedback", {"frame": 9, "zoom": 1}, (), T.IMAGE)])
    )
    assert signature(g) != signature(h)
    f = Filter()
    assert not f.reuse(g, p, 1, 0.9)  # nothing made yet
    f.made(g, p, 0)
    assert f.last is None  # off: nothing kept
    f.made(g, p, 0.9)
    assert not f.reuse(h, p, 2, 0.9)  # another program
    assert not f.reuse(g, 1 - p, 2, 0.9)  # another picture
    assert not f.reuse(g, p, 2, 0)  # off
    assert [f.reuse(g, p, k, 0.9) for k in range(MAX_SKIPS + 1)] == [True] * MAX_SKIPS + [False]
    assert similarity(p, p) == pytest.approx(1.0)


def test_a_recorded_set_with_the_filter_replays_and_encodes_each_picture_once(
    tiny_dir, tmp_path, monkeypatch
):
    encoded = []
    real = engine_module.encode_jpeg
    monkeypatch.setattr(engine_module, "encode_jpeg", lambda px: encoded.append(1) or real(px))
    script = write_script(tiny_dir, SETTLED)
    engine = Engine(script, fps=8, device="cpu", record=tmp_path / "s").start()
    try:
        end = time.monotonic() + 90
        while engine.status()["reused"] < 2 and time.monotonic() < end:
            time.sleep(0.02)
    finally:
        engine.stop()
    log = json.loads((tmp_path / "s.set.json").read_text())
    hashes = [h for _, h in log["frames"]]
    repeats = sum(a == b for a, b in zip(hashes, hashes[1:], strict=False))
    assert engine.status()["reused"] >= 2 and repeats >= 2
    assert len(encoded) == len(hashes) - repeats  # a repeated picture is not encoded again
    result = replay(tmp_path / "s.set.json", tmp_path / "replay", device="cpu")
    assert result.frames == len(hashes) and result.matched == result.frames


def test_a_due_swap_stops_the_old_programs_frame_and_shows_the_new_one_in_its_place(tiny_dir):
    from gencode.runtime.registry import Cancelled

    text = HEAD + 'strength 0.5\nanimate "dunes"\n'
    script = write_script(tiny_dir, text)
    engine = Engine(script, fps=8, device="cpu")
    real, slow = engine.stepper.step, []

    def step(program, frame, signals, cancel=None):
        if program.number == 1 and frame >= 2:  # the old program's frames now take 20 s …
            slow.append(frame)
            if cancel is not None and cancel.wait(20):
                raise Cancelled()  # … unless a swap stops them
        return real(program, frame, signals, cancel)

    engine.stepper.step = step  # type: ignore[method-assign]
    engine.start()
    try:
        end = time.monotonic() + 60
        while not slow and time.monotonic() < end:
            time.sleep(0.02)
        t0 = time.monotonic()
        script.write_text(text.replace('"dunes"', '"ocean"'), encoding="utf-8")
        engine.changed()
        while engine.programs < 2 and time.monotonic() < t0 + 15:
            time.sleep(0.02)
        took = time.monotonic() - t0
    finally:
        engine.stop()
    assert engine.programs == 2 and took < 10, took
    assert engine.status()["ok"], engine.status()["error"]
    # The stopped frame is made by the new program: the swap skips no frame number.
    assert engine.log.programs[-1]["frame"] == slow[0]
