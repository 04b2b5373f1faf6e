"""Compile: content keys, sharing, explicit seeds, schedules, includes and params."""

import json

import pytest
from frontend_support import graph, keys

from gencode.errors import GenError

CARD = 'seed 42; diffuse "dunes" steps 50; interpolate latent a b 24'


def test_design_card_compiles_to_a_still_and_a_walk():
    g = graph(CARD)
    assert [o.node.type for o in g.outputs] == ["image", "images"]
    walk = g.outputs[1].node
    assert walk.op == "diffuse" and walk.length == 24
    assert walk.inputs[0].op == "interpolate" and walk.inputs[0].params["method"] == "slerp"
    a, b = walk.inputs[0].inputs
    assert a.op == b.op == "noise" and a.params["seed"] != b.params["seed"]


@pytest.mark.parametrize(
    "edit",
    [
        lambda s: "# a comment\n\n" + s,
        lambda s: 'diffuse "ocean"\n' + s,
        lambda s: s + '\ndiffuse "forest" as extra',
        lambda s: s.replace("seed 3\n", "seed 3\nx = noise seed 9\n"),
    ],
)
def test_unrelated_edits_never_change_other_keys(edit):
    script = 'seed 3\ndiffuse "dunes" as still\ninterpolate latent a b 12 as walk\n'
    before, after = keys(script), keys(edit(script))
    assert before["still"] == after["still"] and before["walk"] == after["walk"]


def test_deleting_a_line_keeps_the_other_keys():
    script = 'seed 3\ndiffuse "ocean" as o\ndiffuse "dunes" as d\n'
    assert keys(script)["d"] == keys(script.replace('diffuse "ocean" as o\n', ""))["d"]


def test_settings_only_affect_what_follows():
    k = keys('diffuse "dunes" as a\nsteps 40\ndiffuse "dunes" as b\n')
    assert k["a"] != k["b"]
    k2 = keys('diffuse "dunes" as a\nsteps 40\n')
    assert k2["a"] == k["a"]


def test_identical_expressions_are_one_node():
    g = graph('x = diffuse "dunes"\ny = diffuse "dunes"\nblend x y\n')
    diffuses = [n for n in g.nodes if n.op == "diffuse"]
    assert len(diffuses) == 1
    blend = g.outputs[0].node
    assert blend.inputs[0] is blend.inputs[1]


def test_every_random_node_has_an_explicit_seed():
    g = graph(CARD + "\nmodel faces\nsample\nsample seed 5\n")
    for n in g.nodes:
        if n.op in ("noise", "diffuse"):
            assert isinstance(n.params["seed"], int)
    seeds = {n.params["seed"] for n in g.nodes if n.op == "noise"}
    assert 5 in seeds and 42 in seeds


def test_implicit_latents_depend_on_seed_and_name_only():
    k1 = keys("seed 1\ninterpolate latent a b 4 as w")
    k2 = keys("seed 1\ninterpolate latent b a 4 as w")
    k3 = keys("seed 2\ninterpolate latent a b 4 as w")
    assert len({k1["w"], k2["w"], k3["w"]}) == 3
    assert keys("seed 1\n\n\ninterpolate latent a b 4 as w")["w"] == k1["w"]


def test_number_schedules_expand_per_frame():
    g = graph("guidance {0: 2, 4: 6}\ninterpolate latent a b 6")
    assert g.outputs[0].node.params["guidance"] == [2, 3, 4, 5, 6, 6]


def test_a_still_takes_a_schedules_first_frame():
    g = graph('guidance {0: 2, 4: 6}\ndiffuse "dunes"')
    assert g.outputs[0].node.params["guidance"] == 2


def test_prompt_schedules_cross_fade_conditioning():
    g = graph('prompt {0: "dunes", 4: "ocean"}\ninterpolate latent a b 5')
    mix = g.outputs[0].node.inputs[1]
    assert mix.op == "mix" and mix.params["texts"] == ["dunes", "ocean"]
    assert mix.params["weights"] == [[1, 0], [0.75, 0.25], [0.5, 0.5], [0.25, 0.75], [0, 1]]
    assert [i.params["text"] for i in mix.inputs] == ["dunes", "ocean"]


def test_interpolate_prompt_renders_with_fixed_noise():
    g = graph('seed 4\ninterpolate prompt "dunes" "ocean" 8')
    node = g.outputs[0].node
    assert node.op == "diffuse" and node.length == 8
    assert node.inputs[0].op == "noise" and node.inputs[1].op == "interpolate"


def test_params_and_overrides(tmp_path):
    script = "param frames = 24\ninterpolate latent a b frames as w"
    assert graph(script).outputs[0].node.length == 24
    assert graph(script, sets={"frames": "48"}).outputs[0].node.length == 48
    with pytest.raises(GenError, match="'frames' is a number"):
        graph(script, sets={"frames": "many"})
    from frontend_support import check

    notes = check(script, sets={"walk": "3"}).notes
    assert any("no param 'walk'" in d.message and d.severity == "warning" for d in notes)


def test_include_is_resolved_in_place(tmp_path):
    (tmp_path / "look.gen").write_text("steps 33\nguidance 5\n")
    text = 'include "look.gen"\ndiffuse "dunes" as d'
    g = graph(text, root=tmp_path)
    assert g.outputs[0].node.params["steps"] == 33
    assert keys(text, root=tmp_path) == keys('steps 33\nguidance 5\ndiffuse "dunes" as d')


def test_latent_arithmetic_builds_add_sub_scale():
    g = graph("x = a + 0.5 * (b - c)\nx")
    ops = [n.op for n in g.nodes]
    assert {"add", "sub", "scale"} <= set(ops)
    scale = next(n for n in g.nodes if n.op == "scale")
    assert scale.params["factor"] == 0.5


def test_save_redirects_the_previous_output():
    g = graph('diffuse "dunes"\nsave "d.png"\ninterpolate latent a b 4\nsave "walk.gif" fps 8')
    assert [(o.path, o.fps) for o in g.outputs] == [("d.png", 12), ("walk.gif", 8)]


def test_default_output_names_are_readable_and_unique():
    g = graph('diffuse "dunes at night"\ndiffuse "dunes at night" seed 2\ninterpolate latent a b 3')
    assert [o.path for o in g.outputs] == [
        "diffuse-dunes-at-night.png",
        "diffuse-dunes-at-night-2.png",
        "interpolate/{frame:04}.png",
    ]
    assert g.outputs[2].animation == "interpolate.gif"


def test_an_animation_is_named_after_animate_not_an_internal_op():
    g = graph('animate 3 "lake at dusk"')
    assert [o.name for o in g.outputs] == ["animate-lake-at-dusk"]


def test_every_output_carries_one_generation_descriptor_per_frame():
    g = graph('seed 2\nguidance {0: 2, 3: 5}\ndiffuse "dunes" as d\ninterpolate latent a b 4')
    still, walk = g.outputs
    assert len(still.generation) == 1 and len(walk.generation) == 4
    assert [d["guidance"] for d in walk.generation] == walk.node.params["guidance"]
    assert still.generation[0]["prompt"] == "dunes" and still.generation[0]["seed"] == 2


def test_json_and_dot_exports():
    g = graph(CARD)
    doc = g.to_json()
    assert set(doc) == {"nodes", "outputs"}
    assert all({"id", "op", "params", "inputs", "key"} <= set(n) for n in doc["nodes"])
    json.dumps(doc)
    ids = {n["id"] for n in doc["nodes"]}
    assert all(i in ids for n in doc["nodes"] for i in n["inputs"])
    dot = g.to_dot()
    assert dot.startswith("digraph") and dot.count("->") >= len(doc["nodes"]) - 1


def test_text_printer_shows_shared_nodes_once():
    text = graph('x = diffuse "dunes"\nblend x x').to_text()
    assert text.count("= diffuse") == 1
    assert "blend %" in text


def test_model_hash_is_part_of_the_key():
    from frontend_support import SCENES, catalog

    from gencode.check import check_text
    from gencode.compile import compile_program
    from gencode.models.catalog import ModelRef, StaticCatalog

    other = StaticCatalog(
        {**catalog().refs, "scenes": ModelRef("scenes", "1" * 64, "diffusion", meta=SCENES.meta)}
    )
    a = compile_program(check_text('diffuse "dunes"', catalog=catalog())).outputs[0].node.key
    b = compile_program(check_text('diffuse "dunes"', catalog=other)).outputs[0].node.key
    assert a != b
