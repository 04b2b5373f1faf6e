"""The front-end commands (`check`, `graph`), every subcommand's --help, and the torch-free rule."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from frontend_support import catalog, write_fake_checkpoint

from gencode.cli.main import cli


@pytest.fixture(autouse=True)
def static_models(monkeypatch):
    monkeypatch.setattr("gencode.check.program.ModelCatalog", catalog)


def run(*args):
    return CliRunner().invoke(cli, list(args))


def test_every_subcommand_has_help():
    names = cli.list_commands(None)
    assert {"check", "graph"} <= set(names)
    for name in names:
        result = run(name, "--help")
        assert result.exit_code == 0, (name, result.output)
        assert "Usage:" in result.output


def test_check_clean_script_exits_0_and_reports_implicit_latents(tmp_path):
    script = tmp_path / "card.gen"
    script.write_text('seed 42; diffuse "dunes" steps 50; interpolate latent a b 24\n')
    result = run("check", str(script))
    assert result.exit_code == 0
    assert "ok (2 outputs)" in result.stdout
    assert "'a' is an implicit latent" in result.stderr


def test_check_broken_script_exits_1_with_all_errors_on_stderr(tmp_path):
    script = tmp_path / "bad.gen"
    script.write_text('difuse "dunes"\nsteps 0\n')
    result = run("check", str(script))
    assert result.exit_code == 1
    assert "bad.gen:1:1: error: unknown op 'difuse' — did you mean 'diffuse'?" in result.stderr
    assert "bad.gen:2:7: error: 'steps' must be between 1 and 1000" in result.stderr
    assert "2 errors" in result.stderr and result.stdout == ""


def test_check_missing_file(tmp_path):
    result = run("check", str(tmp_path / "nope.gen"))
    assert result.exit_code == 1
    assert "nope.gen: can't read script" in result.stderr


def test_check_several_files_and_set(tmp_path):
    (tmp_path / "a.gen").write_text("param n = 4\ninterpolate latent a b n\n")
    (tmp_path / "b.gen").write_text('diffuse "ocean"\n')
    assert (
        run("check", str(tmp_path / "a.gen"), str(tmp_path / "b.gen"), "--set", "n=8").exit_code
        == 0
    )
    bad = run("check", str(tmp_path / "a.gen"), "--set", "n=eight")
    assert bad.exit_code == 1 and "'n' is a number" in bad.stderr


@pytest.mark.parametrize("fmt", ["text", "json", "dot"])
def test_graph_formats(tmp_path, fmt):
    script = tmp_path / "card.gen"
    script.write_text('seed 42; diffuse "dunes" steps 50; interpolate latent a b 24\n')
    result = run("graph", str(script), "--format", fmt)
    assert result.exit_code == 0, result.output
    if fmt == "json":
        doc = json.loads(result.stdout)
        assert [o["path"] for o in doc["outputs"]] == [
            "diffuse-dunes.png",
            "interpolate/{frame:04}.png",
        ]
    elif fmt == "dot":
        assert result.stdout.startswith("digraph")
    else:
        assert "= diffuse" in result.stdout and "out diffuse-dunes" in result.stdout


def test_graph_set_overrides_a_param(tmp_path):
    script = tmp_path / "p.gen"
    script.write_text("param frames = 4\ninterpolate latent a b frames\n")
    doc = json.loads(run("graph", str(script), "--format", "json", "--set", "frames=9").stdout)
    assert any(n["length"] == 9 for n in doc["nodes"])


def test_front_end_imports_no_torch(tmp_path):
    write_fake_checkpoint(tmp_path / "tiny.safetensors")
    script = tmp_path / "s.gen"
    script.write_text('model "tiny.safetensors"\ndiffuse "dunes"\ninterpolate latent a b 4\n')
    code = (
        "import sys\n"
        "from gencode.cli.main import cli\n"
        "for args in (['check', sys.argv[1]], ['graph', sys.argv[1]], ['--help']):\n"
        "    try:\n        cli(args)\n    except SystemExit as e:\n        assert not e.code, e.code\n"
        "assert 'torch' not in sys.modules, 'the front end imported torch'\n"
        "print('torch-free')\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(script)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "torch-free" in out.stdout


REPO = Path(__file__).resolve().parent.parent


def test_the_readmes_example_graph_is_what_gencode_graph_prints():
    """The README's graph of sketches/card.gen, keys and model hashes elided, is the real output
    (the test catalog carries the shipped models' meta, so defaults such as guidance match)."""
    readme = (REPO / "README.md").read_text()
    shown = readme.split("$ gencode graph sketches/card.gen\n", 1)[1].split("```", 1)[0]
    result = run("graph", str(REPO / "sketches/card.gen"))
    assert result.exit_code == 0, result.output
    real = re.sub(r"# [0-9a-f]{10}$", "# …", result.output, flags=re.M)
    assert re.sub(r"@[0-9a-f]{8}", "@…", real) == shown


def test_the_docs_model_defaults_are_the_shipped_models():
    from frontend_support import SCENES

    table = (REPO / "docs/language.md").read_text()
    for setting in ("sampler", "steps", "guidance"):
        row = next(line for line in table.splitlines() if line.startswith(f"| `{setting}` |"))
        value = SCENES.default(setting)
        value = f"{value:g}" if isinstance(value, float) else value
        assert f"the model's (scenes: {value})" in row, row
