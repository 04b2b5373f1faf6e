"""The language server's analysis: statement-by-statement parsing gives the AST, spans and
syntax errors of a whole-file parse, also after edits that move statements."""

import dataclasses
from pathlib import Path

from frontend_support import catalog

from gencode import ast
from gencode.errors import GenError
from gencode.lsp.analysis import Parser, analyse
from gencode.parse import parse

SKETCHES = Path(__file__).parent.parent / "sketches"


def spans(node) -> list:
    """Every span in a tree, in order (equality of AST nodes ignores them)."""
    if isinstance(node, tuple):
        return [s for n in node for s in spans(n)]
    if not isinstance(node, ast.Node):
        return []
    kids = [s for f in dataclasses.fields(node) for s in spans(getattr(node, f.name))]
    return [node.span, *kids]


def same_as_whole_parse(parser: Parser, text: str) -> None:
    program, errors = parser.parse(text, "t.gen")
    try:
        whole = parse(text, "t.gen")
    except GenError as e:
        assert [d.span for d in errors] == [d.span for d in e.diagnostics]
        return
    assert errors == [] and program == whole
    assert spans(program.statements) == spans(whole.statements)


def test_sketches_and_edits_parse_as_a_whole_file_does():
    parser = Parser()
    for path in sorted(SKETCHES.glob("*.gen")):
        text = path.read_text()
        same_as_whole_parse(parser, text)
        same_as_whole_parse(parser, "# new first line\n" + text.replace("\n", "\n\n", 3))
        same_as_whole_parse(parser, text.replace("\n", "; ", 2))


def test_continuations_brackets_and_syntax_errors():
    parser = Parser()
    same_as_whole_parse(parser, 'a = 1 + \\\n   2\nprompt {\n 0: "x",\n}\nb = a')
    same_as_whole_parse(parser, "seed 1\nsteps = 4\nfps 2; guidance (\n")
    program, errors = parser.parse('seed 1\ndiffuse "open\n\nfps 3\n', "t.gen")
    assert [s.name for s in program.statements] == ["seed", "fps"]  # the rest still parses
    assert errors[0].span.line == 2 and "unterminated string" in errors[0].message


def test_analysis_keeps_every_diagnostic():
    text = "steps = 4\ndifuse 3\ninterpolate latent a b 4\n"
    found = analyse(Parser(), text, "t.gen", Path("."), catalog()).diagnostics
    assert [(d.severity, d.span.line) for d in found] == [
        ("error", 1),
        ("error", 2),
        ("note", 3),
        ("note", 3),
    ]


def test_a_checker_crash_becomes_a_diagnostic(monkeypatch):
    def crash(program, state):
        raise ValueError("embedded null byte")

    monkeypatch.setattr("gencode.lsp.analysis.check", crash)
    (found,) = analyse(Parser(), "seed 1\n", "t.gen", Path("."), catalog()).diagnostics
    assert found.severity == "error" and "ValueError: embedded null byte" in found.message
