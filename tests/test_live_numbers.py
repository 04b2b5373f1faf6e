"""The slider fast path (gencode/live/numbers.py): a literal that only feeds frame expressions is
rebound in the running program and makes exactly the graph a full check with the new value
makes; a literal that reaches anything decided at check time is refused (the engine checks)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from gencode.live.numbers import rebind
from gencode.live.program import load

HEAD = 'size 32\na = load "red.png"\nb = load "blue.png"\n'


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    Image.new("RGB", (32, 32), (255, 0, 0)).save(tmp_path / "red.png")
    Image.new("RGB", (32, 32), (0, 0, 255)).save(tmp_path / "blue.png")
    return tmp_path


def script(folder: Path, text: str) -> Path:
    path = folder / "set.gen"
    path.write_text(HEAD + text, encoding="utf-8")
    return path


def keys(program, frame: int) -> list[str]:
    return [n.key for n in program.graph(frame, {}, {}).nodes]


def test_a_literal_in_a_frame_expression_is_rebound_as_a_check_would(folder: Path) -> None:
    path = script(folder, "blend a b amount (0.25 + 0.5 * sin(t))\n")
    program = load(path)
    program.number = 3
    fast = rebind(program, 4, 26, 0.125)
    assert fast is not None and fast.number == 3 and fast.numbers == {(4, 26): 0.125}
    checked = load(path, numbers={(4, 26): 0.125})
    for frame in (0, 1, 5):
        assert keys(fast, frame) == keys(checked, frame)
    assert keys(fast, 1) != keys(program, 1)  # the value moved the picture
    again = rebind(fast, 4, 19, 0.5)  # a second literal on top of the first
    assert again is not None
    assert keys(again, 2) == keys(load(path, numbers={(4, 26): 0.125, (4, 19): 0.5}), 2)


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("blend a b amount 0.25\n", 18),  # a plain number: decided at check time
        ("k = 0.5\nblend a b amount (0.25 + k * sin(t))\n", 5),  # a binding: used anywhere
        ("blend a b amount (0.25 * 2 + sin(t))\n", 19),  # folded into a constant
        ("blend a b amount (0.25 + 0.5 * sin(t))\n", 20),  # no literal starts here
    ],
)
def test_a_literal_decided_at_check_time_is_refused(folder: Path, text: str, column: int) -> None:
    assert rebind(load(script(folder, text)), 4, column, 0.75) is None
