"""Fuzzing the front end with hypothesis.

(a) Arbitrary text never raises anything but GenError (through parse, check and compile).
(b) Generated valid programs survive parse → unparse → re-parse unchanged.
"""

from frontend_support import catalog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gencode import ast
from gencode.check import check_text
from gencode.compile import compile_program
from gencode.errors import GenError
from gencode.parse import parse
from gencode.settings import SETTINGS
from gencode.unparse import unparse

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RESERVED = set(SETTINGS) | {"let", "as", "param", "include"}

WORDS = [
    "seed",
    "42",
    "diffuse",
    '"dunes"',
    "steps",
    "50",
    "interpolate",
    "latent",
    "a",
    "b",
    "24",
    "noise",
    "=",
    "+",
    "-",
    "*",
    "/",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ":",
    ",",
    ";",
    "\n",
    "as",
    "save",
    '"x.png"',
    "64x48",
    "0..9",
    "-3",
    "model",
    "faces",
    "sample",
    "edit",
    "smile",
    "prompt",
    "guidance",
    "blend",
    "grid",
    "let",
    "param",
    "include",
    "from",
    "strength",
    "0.5",
    "#",
    '"',
    "@",
    "size",
    "fps",
    "encode",
    "decode",
    "load",
]


def front_end(text: str) -> None:
    try:
        compile_program(check_text(text, "fuzz.gen", None, None, catalog()))
    except GenError as e:
        assert e.diagnostics and all(d.message for d in e.diagnostics)


@FUZZ
@given(st.text(max_size=80))
def test_arbitrary_text_only_raises_gen_error(text):
    front_end(text)


@FUZZ
@given(st.lists(st.sampled_from(WORDS), max_size=25).map(" ".join))
def test_token_soup_only_raises_gen_error(text):
    front_end(text)


# ---- generated valid programs ----------------------------------------------------------------

names = st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True).filter(lambda s: s not in RESERVED)
numbers = st.floats(min_value=0, max_value=1e6, allow_nan=False).map(lambda x: round(x, 3))
strings = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)

atoms = st.one_of(
    numbers.map(ast.Number),
    strings.map(ast.String),
    st.tuples(st.integers(1, 4096), st.integers(1, 4096)).map(lambda t: ast.Size(*t)),
    names.map(ast.Name),
    st.tuples(st.integers(0, 99), st.integers(0, 99)).map(
        lambda t: ast.Range(float(t[0]), float(t[1]))
    ),
)


def extend(inner):
    return st.one_of(
        st.tuples(st.sampled_from("+-*/"), inner, inner).map(lambda t: ast.BinOp(*t)),
        inner.map(ast.Neg),
        st.tuples(
            names.map(ast.Name),
            st.lists(
                st.one_of(inner, numbers.map(lambda x: ast.Number(-x - 1))), min_size=1, max_size=4
            ).map(tuple),
        ).map(lambda t: ast.Call(*t)),
        st.lists(inner, max_size=3).map(lambda xs: ast.List(tuple(xs))),
        st.lists(st.tuples(numbers.map(ast.Number), inner), min_size=1, max_size=3).map(
            lambda kv: ast.Schedule(tuple(ast.Keyframe(k, v) for k, v in kv))
        ),
    )


exprs = st.recursive(atoms, extend, max_leaves=8)
statements = st.one_of(
    st.tuples(st.sampled_from(sorted(SETTINGS)), exprs).map(lambda t: ast.Setting(*t)),
    st.tuples(names.map(ast.Name), exprs).map(lambda t: ast.Assign(*t)),
    st.tuples(names.map(ast.Name), exprs).map(lambda t: ast.Param(*t)),
    strings.map(lambda s: ast.Include(ast.String(s))),
    st.tuples(exprs, st.none() | names.map(ast.Name)).map(lambda t: ast.Output(*t)),
)
programs = st.lists(statements, max_size=6).map(lambda xs: ast.Program(tuple(xs)))


@FUZZ
@given(programs)
def test_print_then_parse_round_trips(program):
    text = unparse(program)
    assert parse(text, "rt.gen") == program, text
