"""The VS Code extension's files: the TextMate grammar is the one its generator writes from
gencode's tables (so new ops and settings get colours), and the manifest points at real files.
The grammar's own tests (annotated snippets) run with npm: editors/vscode/build.sh."""

import json
import re
import runpy
from pathlib import Path

VSCODE = Path(__file__).parent.parent / "editors" / "vscode"


def test_grammar_is_generated_from_the_tables():
    generator = runpy.run_path(str(VSCODE / "grammar.py"))
    committed = (VSCODE / "syntaxes" / "gen.tmLanguage.json").read_text(encoding="utf-8")
    assert committed == generator["text"](), "run: python editors/vscode/grammar.py"
    ops = json.dumps(generator["grammar"]()["patterns"])
    assert "interpolate" in ops and "seed_mode" in ops


def test_manifest_points_at_real_files():
    manifest = json.loads((VSCODE / "package.json").read_text())
    (language,) = manifest["contributes"]["languages"]
    (grammar,) = manifest["contributes"]["grammars"]
    assert language["extensions"] == [".gen"]
    config = json.loads((VSCODE / language["configuration"]).read_text())
    assert config["comments"]["lineComment"] == "#"
    assert (VSCODE / grammar["path"]).is_file() and (VSCODE / manifest["main"]).is_file()
    assert (VSCODE / "package-lock.json").is_file()


def test_grammar_tests_cover_every_scope():
    grammar = json.loads((VSCODE / "syntaxes" / "gen.tmLanguage.json").read_text())
    scopes = set(re.findall(r'"name": "([a-z.-]+\.gen)"', json.dumps(grammar, indent=1)))
    asserted = "\n".join(p.read_text() for p in (VSCODE / "tests").glob("*.gen"))
    assert len(scopes) > 20
    assert {s for s in scopes if s not in asserted} == set()
