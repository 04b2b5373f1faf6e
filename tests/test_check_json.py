"""`gencode check --format json`: the text output's diagnostics as one JSON array, same exit codes."""

import json
import re

import pytest
from click.testing import CliRunner
from frontend_support import catalog

from gencode.cli.main import cli


@pytest.fixture(autouse=True)
def static_models(monkeypatch):
    monkeypatch.setattr("gencode.check.program.ModelCatalog", catalog)


def run(*args):
    return CliRunner().invoke(cli, list(args))


def test_json_has_the_same_diagnostics_as_text(tmp_path):
    bad, good = tmp_path / "bad.gen", tmp_path / "good.gen"
    bad.write_text('seed 4\ndifuse "dunes"\nnoise seed 1e30\n')
    good.write_text("interpolate latent a b 4\n")
    text = run("check", str(bad), str(good))
    result = run("check", "--format", "json", str(bad), str(good))
    assert result.exit_code == text.exit_code == 1
    found = json.loads(result.stdout)
    heads = re.findall(r"^(\S+):(\d+):(\d+): (\w+): (.*)$", text.stderr, re.M)
    assert [(d["file"], d["line"], d["column"], d["severity"]) for d in found] == [
        (f, int(line), int(col), sev) for f, line, col, sev, _ in heads
    ]
    for d, (*_, message) in zip(found, heads, strict=True):
        assert message == d["message"] + (f" — {d['hint']}" if d["hint"] else "")
    typo = next(d for d in found if d["message"] == "unknown op 'difuse'")
    assert typo["hint"] == "did you mean 'diffuse'?"
    assert (typo["line"], typo["column"], typo["end_line"], typo["end_column"]) == (2, 1, 2, 7)
    assert {d["severity"] for d in found} == {"error", "note"}


def test_json_clean_script_exits_0_and_quiet_drops_notes(tmp_path):
    script = tmp_path / "ok.gen"
    script.write_text("interpolate latent a b 4\n")
    result = run("check", "--format", "json", str(script))
    assert result.exit_code == 0 and len(json.loads(result.stdout)) == 2
    result = run("check", "--format", "json", "-q", str(script))
    assert result.exit_code == 0 and json.loads(result.stdout) == []
