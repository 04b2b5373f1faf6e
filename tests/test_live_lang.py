"""Time in the language (torch-free): `time`, `signal(...)`, looping schedules, endless
`animate` and `wander`, `quantize`/`crossfade`, compiling at a stream frame, number overrides."""

from pathlib import Path

import pytest
from frontend_support import check

from gencode import ast
from gencode.compile import compile_program
from gencode.errors import GenError
from gencode.ir import Sched
from gencode.live.program import force_settings, override_numbers
from gencode.parse import parse


def node(text: str, op: str, frame: float = 0, signals=None, pictures=None):
    g = compile_program(check(text), frame, signals, pictures)
    (n,) = [n for n in g.nodes if n.op == op][-1:]
    return n


def test_time_is_seconds_and_beat_follows_bpm():
    text = 'fps 10\nbpm 60\ndiffuse "dunes" guidance (1 + time + 10 * beat)'
    # frame 20 at 10 fps: time 2 s, beat 2 (60 bpm)
    assert node(text, "diffuse", 20).params["guidance"] == pytest.approx(1 + 2 + 20)
    assert node(text, "diffuse", 0).params["guidance"] == 1


def test_a_signal_reads_the_live_value_else_its_default():
    text = 'diffuse "dunes" guidance (2 + 4 * signal("midi.cc.1", 0.25))'
    assert node(text, "diffuse").params["guidance"] == 3
    live = node(text, "diffuse", signals={"midi.cc.1": 1.0})
    assert live.params["guidance"] == 6
    assert live.key != node(text, "diffuse").key


@pytest.mark.parametrize(
    "bad, message",
    [
        ("guidance signal(3)", 'signal("name")'),
        ('guidance signal("a", "b")', "a signal's default is a number"),
    ],
)
def test_signal_mistakes_are_named(bad, message):
    with pytest.raises(GenError, match="t.gen:1:") as e:
        check(f'{bad}\ndiffuse "dunes"')
    assert message in e.value.format()


def test_a_looping_schedule_repeats_and_wraps_round_to_its_first_key():
    s = (
        check('guidance {0: 2, 6: 8, loop: 12}\ndiffuse "dunes"')
        .outputs[0]
        .value.params["guidance"]
    )
    assert isinstance(s, Sched) and s.period == 12
    assert [s.at(f) for f in (0, 3, 6, 9, 12, 15, 24)] == [2, 5, 8, 5, 2, 5, 2]


def test_a_loop_in_beats_and_its_mistakes():
    s = check('bpm 120\nfps 12\nprompt {0: "dunes", 2b: "ocean", loop: 4b}\ndiffuse').outputs
    assert s  # 4 beats = 24 frames
    with pytest.raises(GenError, match="past the loop's end"):
        check('guidance {0: 2, 30: 8, loop: 24}\ndiffuse "dunes"')
    with pytest.raises(GenError, match="'loop' takes a length"):
        check('guidance {0: 2, loop: "x"}\ndiffuse "dunes"')


def test_an_animate_without_a_count_is_one_feedback_step_per_frame():
    text = 'zoom 1 + 0.1 * sin(t)\nanimate {0: "dunes", 10: "ocean"} strength 0.4'
    program = check(text)
    assert any("endless" in n.message for n in program.notes)
    first = node(text, "feedback", 0, pictures={"previous": None})
    later = node(text, "feedback", 5, pictures={"previous": "abc", "anchor": "abc"})
    assert first.params["frame"] == 0 and later.params["frame"] == 5
    assert later.params["zoom"] == pytest.approx(1 + 0.1 * __import__("math").sin(5))
    assert later.params["strength"] == 0.4
    picture = later.inputs[0]
    assert picture.op == "picture" and picture.params["of"] == "abc"
    mix = later.inputs[2]
    assert mix.op == "mix" and mix.params["weights"] == [[0.5, 0.5]]  # frame 5 of 0 → 10


def test_an_endless_animate_refuses_from():
    with pytest.raises(GenError, match="'from' needs a count"):
        check('x = diffuse "dunes"\nanimate "ocean" from x')


def test_wander_is_a_latent_walk_at_the_frame():
    w = node("wander seed 3 every 2b", "wander", 7)
    assert (
        w.params["at"] == 7 and w.params["every"] == 12
    )  # 2 beats at 120 bpm, 12 fps and w.params["seed"] == 3
    assert node("wander seed 3", "diffuse", 7).inputs[0].op == "wander"


def test_quantize_and_crossfade_are_settings_in_frames_or_beats():
    check("quantize 1b\ncrossfade 6\ndiffuse")
    with pytest.raises(GenError, match="between 0"):
        check("crossfade -2\ndiffuse")


def test_number_overrides_rebind_literals_by_line_and_column():
    tree = parse('seed 1\ndiffuse "dunes" guidance 3', "t.gen")
    changed = override_numbers(tree, "t.gen", {(2, 26): 7.5})
    (setting, out) = changed.statements
    assert setting.value.value == 1
    assert out.value.words[-1] == ast.Number(7.5)
    assert override_numbers(tree, "other.gen", {(2, 26): 7.5}) == tree


def test_forced_settings_replace_the_scripts_own():
    tree = force_settings(parse("size 32\nsteps 4\ndiffuse", "t.gen"), {"steps": 20})
    names = [(s.name, s.value.value) for s in tree.statements if isinstance(s, ast.Setting)]
    assert names == [("steps", 20.0), ("size", 32.0)] or names[0] == ("steps", 20.0)
    assert sum(1 for n, _ in names if n == "steps") == 1


def test_time_and_signal_are_reserved_names():
    for name in ("time", "signal"):
        with pytest.raises(GenError, match="reserved"):
            check(f"{name} = 3\ndiffuse")


def test_render_of_a_live_sketch_checks(tmp_path: Path):
    sketch = Path(__file__).parent.parent / "sketches" / "live.gen"
    program = check(sketch.read_text(), tmp_path)
    assert program.outputs[-1].value.op == "feedback"
