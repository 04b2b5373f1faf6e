"""AUTOMATIC1111 prompt weighting: worked examples and properties of the parser (torch-free)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gencode.prompt_weights import ROUND, SQUARE, escape, is_weighted, parse, plain

CASES = [
    ("a red fox", [("a red fox", 1.0)]),
    ("a (red:1.3) fox", [("a ", 1.0), ("red", 1.3), (" fox", 1.0)]),
    ("(red)", [("red", ROUND)]),
    ("((red))", [("red", ROUND * ROUND)]),
    ("[red]", [("red", SQUARE)]),
    ("[[red]]", [("red", SQUARE * SQUARE)]),
    ("((red:2) fox)", [("red", 2 * ROUND), (" fox", ROUND)]),
    ("(red: 0.5 )", [("red", 0.5)]),
    (r"\(red\) \[fox\]", [("(red) [fox]", 1.0)]),
    (r"a \\ b", [("a \\ b", 1.0)]),
    ("(red", [("red", ROUND)]),  # never closed: weights the rest
    ("red)", [("red)", 1.0)]),  # nothing to close: plain text
    ("a:b", [("a:b", 1.0)]),
    ("(a:x)", [("a:x", ROUND)]),  # not a number: the colon is text
    ("red:1.2)", [("red:1.2)", 1.0)]),  # a weight outside round brackets is text
    ("", [("", 1.0)]),
]


@pytest.mark.parametrize("prompt, runs", CASES)
def test_worked_examples(prompt: str, runs: list[tuple[str, float]]) -> None:
    got = parse(prompt)
    assert [t for t, _ in got] == [t for t, _ in runs]
    assert all(math.isclose(w, v) for (_, w), (_, v) in zip(got, runs, strict=True))


def test_weighted_or_not() -> None:
    assert is_weighted("a (fox:1.2)") and is_weighted("[fox]") and not is_weighted(r"\(fox\)")
    assert plain("a (red:1.3) [fox]") == "a red fox"


TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
WORDS = st.text(alphabet="abc xyz,.!", min_size=1, max_size=12)


@given(TEXT)
def test_any_text_parses_into_nonempty_positive_runs(text: str) -> None:
    runs = parse(text)
    assert runs and all(w > 0 for _, w in runs)
    assert all(a[1] != b[1] for a, b in zip(runs, runs[1:], strict=False))  # merged
    assert all(t for t, _ in runs) or runs == [("", 1.0)]


@given(TEXT)
def test_escaped_text_reads_back_as_itself(text: str) -> None:
    assert parse(escape(text)) == ([(text, 1.0)] if text else [("", 1.0)])


@given(TEXT.filter(lambda t: not any(c in t for c in "\\()[]")))
def test_text_without_syntax_is_one_run_at_weight_one(text: str) -> None:
    assert parse(text) == ([(text, 1.0)] if text else [("", 1.0)])


@given(WORDS, st.floats(0.1, 3.0).map(lambda w: round(w, 2)), st.integers(0, 3))
def test_explicit_weights_nest_multiplicatively(word: str, weight: float, depth: int) -> None:
    prompt = "(" * depth + f"({word}:{weight})" + ")" * depth
    [(text, w)] = parse(prompt)
    assert text == word and math.isclose(w, weight * ROUND**depth)


@given(st.lists(st.tuples(WORDS, st.sampled_from(["", "()", "[]", "(:1.5)"])), max_size=6))
def test_the_words_survive_the_syntax(parts: list[tuple[str, str]]) -> None:
    prompt, words = "", ""
    for word, wrap in parts:
        if wrap == "(:1.5)":
            prompt += f"({word}:1.5)"
        elif wrap:
            prompt += wrap[0] + word + wrap[1]
        else:
            prompt += word
        words += word
    assert plain(prompt) == words
