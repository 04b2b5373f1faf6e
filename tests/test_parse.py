"""Parsing: the grammar covers the language of DESIGN.md §2, spans are right, errors are in words."""

import pytest

from gencode import ast
from gencode.errors import GenError
from gencode.parse import escape, parse, statement_bounds, unescape


def stmts(text):
    return parse(text, "t.gen").statements


def test_design_card_parses_as_three_statements():
    s = stmts('seed 42; diffuse "dunes" steps 50; interpolate latent a b 24')
    assert [type(x).__name__ for x in s] == ["Setting", "Output", "Output"]
    assert s[1].value == ast.Call(
        ast.Name("diffuse"), (ast.String("dunes"), ast.Name("steps"), ast.Number(50.0))
    )


def test_arithmetic_precedence_and_application_binds_tightest():
    (s,) = stmts("x = a + 0.5 * (b - c)")
    assert s.value == ast.BinOp(
        "+",
        ast.Name("a"),
        ast.BinOp("*", ast.Number(0.5), ast.BinOp("-", ast.Name("b"), ast.Name("c"))),
    )
    (s,) = stmts("y = a + noise seed 7")
    assert s.value.right == ast.Call(ast.Name("noise"), (ast.Name("seed"), ast.Number(7.0)))


def test_minus_stuck_to_a_number_is_a_negative_argument_but_spaced_minus_subtracts():
    (s,) = stmts("f -2")
    assert s.value == ast.Call(ast.Name("f"), (ast.Number(-2.0),))
    for text in ("x = a - 2", "x = a-2"):
        (s,) = stmts(text)
        assert isinstance(s.value, ast.BinOp) and s.value.op == "-"


def test_values():
    (s,) = stmts('x = [1, 2.5, "a", 64x48, 0..9, {0: 3, 24: 7.5}]')
    items = s.value.items
    assert items[:4] == (ast.Number(1.0), ast.Number(2.5), ast.String("a"), ast.Size(64, 48))
    assert items[4] == ast.Range(0.0, 9.0)
    assert items[5].keyframes[1] == ast.Keyframe(ast.Number(24.0), ast.Number(7.5))


def test_statement_forms():
    s = stmts('let a = noise\nparam walk = 24\ninclude "x.gen"\ndiffuse "d" as dawn\nsize 96x64')
    assert s[0] == ast.Assign(ast.Name("a"), ast.Name("noise"))
    assert s[1] == ast.Param(ast.Name("walk"), ast.Number(24.0))
    assert s[2] == ast.Include(ast.String("x.gen"))
    assert s[3].alias == ast.Name("dawn")
    assert s[4] == ast.Setting("size", ast.Size(96, 64))


def test_newlines_inside_brackets_and_comments_and_blank_statements():
    s = stmts("# head\n\nguidance {0: 3,   # first\n  24: 7.5}\n;;\nseed 1 # tail\n")
    assert [x.name for x in s] == ["guidance", "seed"]


def test_spans_point_at_source_and_do_not_affect_equality():
    a = stmts('\n  diffuse "dunes"')[0]
    b = stmts('diffuse "dunes"')[0]
    assert a == b
    assert (a.span.line, a.span.column) == (2, 3)
    assert (a.value.name.span.line, a.value.name.span.column) == (2, 3)
    assert a.value.words[0].span.column == 11


def test_string_escapes_round_trip():
    (s,) = stmts(r'prompt "say \"hi\"\n\tand \\ \u{263A}"')
    assert s.value.value == 'say "hi"\n\tand \\ \u263a'
    assert unescape(escape(s.value.value)[1:-1]) == s.value.value


@pytest.mark.parametrize(
    "text, message",
    [
        ("seed = 4", "'seed' is a setting and can't be assigned"),
        ("steps", "expected a value after 'steps'"),
        ('diffuse "dunes', "unterminated string"),
        ("x = (1 + 2", "this '(' is never closed"),
        ("x = 3)", "unmatched ')'"),
        ("x = @", "unexpected character '@'"),
        ("prompt 'x'", "strings use double quotes"),
        ("seed 42 43", "expected the end of the statement"),
    ],
)
def test_syntax_errors_in_words(text, message):
    with pytest.raises(GenError) as e:
        parse(text, "t.gen")
    assert message in str(e.value)
    assert str(e.value).startswith("t.gen:1:")


def test_all_syntax_errors_reported_in_one_run():
    with pytest.raises(GenError) as e:
        parse("seed = 1\nsteps 5\nx = @\ny = 1 +\n", "t.gen")
    lines = [d.span.line for d in e.value.errors]
    assert lines == [1, 3, 4]


def test_statement_bounds_respect_strings_comments_and_brackets():
    text = 'a "x;y" ; b {1: 2,\n 3: 4}\n# c; d\ne'
    parts = [text[s:t].strip() for s, t in statement_bounds(text)]
    assert parts == ['a "x;y"', "b {1: 2,\n 3: 4}", "# c; d", "e"]
