"""The `animate` form: chain structure, cadence, seed behaviours, schedules, beats, soundtrack."""

import pytest
from frontend_support import check, graph

from gencode.errors import GenError


def frames_of(text, **kw):
    (out,) = graph(text, **kw).outputs
    assert out.node.op == "stack"
    return out.node.inputs


def diffuses(node, seen=None):
    """Every diffuse node under `node` (each counted once)."""
    seen = {} if seen is None else seen
    if node.op == "diffuse":
        seen[node.key] = node
    for i in node.inputs:
        diffuses(i, seen)
    return seen


@pytest.mark.parametrize("cadence, calls", [(1, 12), (3, 5), (12, 2)])
def test_cadence_sets_the_number_of_model_calls(cadence, calls):
    frames = frames_of(f'animate 12 "dunes" zoom 1.02 cadence {cadence}')
    assert len(frames) == 12
    assert (
        len(diffuses(graph(f'animate 12 "dunes" zoom 1.02 cadence {cadence}').outputs[0].node))
        == calls
    )
    if cadence > 1:
        assert frames[1].op == "blend" and frames[1].inputs[0].op == "warp"


def test_each_frame_is_made_from_the_previous_one():
    frames = frames_of('animate 4 "dunes" zoom 1.05 rotate 2 noise 0.02 contrast 1.1')
    assert frames[0].params["mode"] == "txt2img"
    for prev, cur in zip(frames, frames[1:], strict=False):
        assert cur.op == "diffuse" and cur.params["mode"] == "img2img"
        chain = cur.inputs[0]
        ops = []
        while chain is not prev:
            ops.append(chain.op)
            chain = chain.inputs[0]
        assert ops == ["addnoise", "adjust", "colormatch", "warp"]


def test_editing_a_late_keyframe_keeps_earlier_frames():
    base = 'animate 48 "dunes" zoom 1.02 strength {{0: 0.6, 39: 0.6, 40: {s}}}'
    a, b = frames_of(base.format(s=0.5)), frames_of(base.format(s=0.4))
    same = [x.key == y.key for x, y in zip(a, b, strict=False)]
    assert same == [True] * 40 + [False] * 8


def test_seed_behaviours_reach_the_diffuse_nodes():
    def seeds(mode):
        return [f.params["seed"] for f in frames_of(f'animate 6 "dunes" seed 10 seed_mode {mode}')]

    assert seeds("fixed") == [10] * 6
    assert seeds("iter") == [10, 11, 12, 13, 14, 15]
    assert seeds("ladder") == [10, 12, 11, 13, 12, 14]
    assert seeds("alternate") == [10, 11, 10, 11, 10, 11]
    assert seeds("random") == seeds("random") and len(set(seeds("random"))) == 6
    sched = [f.params["seed"] for f in frames_of('animate 4 "dunes" seed {0: 5, 2: 9}')]
    assert sched == [5, 7, 9, 9]


def test_frame_expressions_and_beats():
    text = 'fps 12\nbpm 120\nzoom 1 + 0.02 * sin(beat * pi)\nanimate 8b "dunes" cadence 1'
    frames = frames_of(text)
    assert len(frames) == 48
    warp = frames[1].inputs[0].inputs[0]
    assert warp.op == "warp" and warp.params["matrix"][0][0] > 1.0


def test_keywords_override_motion_settings():
    frames = frames_of('zoom 1.5\nanimate 3 "dunes" zoom (1 + t / 100)')
    assert frames[1].inputs[0].inputs[0].params["matrix"][0][0] < 1.1


def test_out_of_range_expression_names_the_frame():
    with pytest.raises(GenError, match="'zoom' is 2.5 at frame 3"):
        graph('animate 8 "dunes" zoom (1 + t / 2)')


def test_prompt_schedules_cross_fade_per_frame():
    frames = frames_of('animate 5 {0: "dunes", 4: "ocean"} strength 0.5')
    mix = frames[2].inputs[1]
    assert mix.op == "mix" and mix.params == {"texts": ["dunes", "ocean"], "weights": [[0.5, 0.5]]}


def test_soundtrack_must_exist_beside_the_script(tmp_path):
    import wave

    with wave.open(str(tmp_path / "beat.wav"), "wb") as w:  # a real WAV: the checker reads it
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000), w.writeframes(b"\0\0" * 8)
    g = graph('animate 4 "dunes"\nsave "clip.mp4" audio "beat.wav"', root=tmp_path)
    assert g.outputs[0].audio == "beat.wav"
    with pytest.raises(GenError, match="no such audio file"):
        check('animate 4 "dunes"\nsave "clip.mp4" audio "nope.wav"', root=tmp_path)
    with pytest.raises(GenError, match="goes with an .mp4"):
        check('animate 4 "dunes"\nsave "clip.gif" audio "beat.wav"', root=tmp_path)
