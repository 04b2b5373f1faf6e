"""Check: names, types, settings and includes beyond the golden error messages."""

import pytest
from frontend_support import check

from gencode.errors import GenError


def test_includes_are_listed_for_watch_mode(tmp_path):
    (tmp_path / "look.gen").write_text('include "sub/more.gen"\n')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "more.gen").write_text("steps 12\n")
    program = check('include "look.gen"\ndiffuse "dunes"', root=tmp_path)
    assert [p.split("/")[-1] for p in program.files] == ["t.gen", "look.gen", "more.gen"]


def test_include_relative_to_the_including_file(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.gen").write_text('include "b.gen"\n')
    (tmp_path / "sub" / "b.gen").write_text("steps 12\n")
    g = check('include "sub/a.gen"\ndiffuse "dunes"', root=tmp_path)
    assert g.outputs[0].value.params["steps"] == 12


def test_errors_inside_includes_point_into_the_included_file(tmp_path):
    (tmp_path / "look.gen").write_text("steps 0\n")
    with pytest.raises(GenError) as e:
        check('include "look.gen"\n', root=tmp_path)
    (d,) = e.value.errors
    assert d.span.file.endswith("look.gen") and d.span.line == 1


def test_unknown_prompt_words_warn_once_but_do_not_fail():
    program = check('diffuse "a castle"\ndiffuse "castle at night"')
    warnings = [d for d in program.notes if d.severity == "warning"]
    assert len(warnings) == 1 and "'castle'" in warnings[0].message
    assert "dunes" in warnings[0].message  # lists the vocabulary


def test_known_words_and_plurals_do_not_warn():
    program = check('diffuse "the dune at night"\ndiffuse "forests, dawn"')
    assert not [d for d in program.notes if d.severity == "warning"]


def test_model_defaults_apply_until_a_setting_overrides_them():
    p = check('diffuse "dunes" as a\nsteps 7\ndiffuse "dunes" as b')
    assert [o.value.params["steps"] for o in p.outputs] == [20, 7]


def test_latent_sequences_render_with_the_current_prompt_and_model():
    p = check('prompt "ocean"\ninterpolate latent a b 4')
    out = p.outputs[0].value
    assert out.op == "diffuse" and out.length == 4
    assert out.inputs[1].params["text"] == "ocean"


def test_faces_latents_are_sampled_and_vae_latents_decoded():
    p = check("model faces\nnoise\nmodel faces_vae\nnoise")
    assert [o.value.op for o in p.outputs] == ["sample", "decode"]


def test_seed_number_as_latent_operand():
    p = check("interpolate latent 1 2 4")
    a, b = p.outputs[0].value.inputs[0].inputs
    assert (a.params["seed"], b.params["seed"]) == (1, 2)


def test_folded_number_settings():
    p = check('steps 10 * 3\ndiffuse "dunes"')
    assert p.outputs[0].value.params["steps"] == 30


def test_bound_names_win_over_implicit_latents():
    p = check("a = noise seed 9\ninterpolate latent a b 3")
    notes = [d.message for d in p.notes]
    assert not any("'a' is an implicit latent" in m for m in notes)
    assert any("'b' is an implicit latent" in m for m in notes)


def test_a_typo_of_a_bound_name_is_hinted_in_the_implicit_latent_note():
    p = check("dawn = noise seed 1\ninterpolate latent dwan dawn 3")
    assert any("did you mean 'dawn'" in d.message for d in p.notes)


def test_load_reads_only_beside_the_script(tmp_path):
    (tmp_path / "x.png").write_bytes(b"not really a png")
    p = check('load "x.png"', root=tmp_path)
    assert p.outputs[0].value.params["path"] == "x.png"
    with pytest.raises(GenError, match="outside the script's folder"):
        check('load "/etc/passwd"', root=tmp_path)


def test_an_option_the_sampler_would_ignore_is_an_error_not_a_silent_key_change():
    with pytest.raises(GenError, match=r"sampler 'euler' takes no eta .*ddim and euler_ancestral"):
        check('sampler euler\neta 0.5\ndiffuse "dunes"')
    with pytest.raises(GenError, match="takes no eta"):
        check('diffuse "dunes" sampler heun eta 0.2')


def test_eta_is_honoured_by_the_samplers_that_take_it_with_their_own_default():
    from frontend_support import graph

    def params(text: str) -> dict:
        return graph(text).outputs[0].node.params

    assert params('diffuse "dunes" sampler euler_ancestral')["eta"] == 1.0
    assert params('diffuse "dunes" sampler euler_ancestral eta 0.5')["eta"] == 0.5
    assert params('diffuse "dunes" sampler ddim')["eta"] == 0.0
    assert "eta" not in params('diffuse "dunes" sampler euler')


def test_the_checker_reads_the_models_fillers_as_the_runtime_does():
    """One rule for prompt words (data.words.unknown_words): 'scene' and 'sky' are the model's
    fillers, so neither warns; a word it does not know still does."""
    from frontend_support import SCENES

    from gencode.data.words import unknown_words

    assert {"scene", "sky"} <= set(SCENES.meta["fillers"])
    assert check('diffuse "a scene of dunes under the sky"').notes == []
    notes = check('diffuse "dunes with a castle"').notes
    assert [n.message.split("'")[3] for n in notes] == ["castle"]
    assert unknown_words("a scene of dunes under the sky, with a castle", SCENES.meta) == ["castle"]


def test_a_gif_at_a_rate_gif_cannot_store_warns_and_an_mp4_does_not():
    def warnings(text: str) -> list:
        return [n for n in check(text).notes if n.severity == "warning"]

    gif = warnings('fps 60\ninterpolate latent a b 4\nsave "walk.gif"')
    assert len(gif) == 1 and "becomes 50 there" in gif[0].message
    assert warnings('fps 60\ninterpolate latent a b 4\nsave "walk.mp4"') == []
    assert warnings("fps 60\ninterpolate latent a b 4")[0].span.line == 2  # the preview GIF
    assert warnings("fps 50\ninterpolate latent a b 4") == []


def test_an_unknown_word_in_the_negative_prompt_points_at_the_negative():
    (note,) = [n for n in check('seed 1\nnegative "dunes castle"\ndiffuse "dunes"').notes
               if n.severity == "warning"]  # fmt: skip
    assert (note.span.line, note.span.column) == (2, 10) and "'castle'" in note.message
    (note,) = [
        n for n in check('diffuse "dunes" negative "a castle"').notes if n.severity == "warning"
    ]
    assert (note.span.line, note.span.column) == (1, 26)
