"""Every sketch checks, and its printed graph matches its golden file (tests/sketches/NAME.graph).

Regenerate after an intended change with: UPDATE_GOLDEN=1 pytest tests/test_sketches.py
"""

import os
from pathlib import Path

import pytest
from frontend_support import catalog

from gencode.check import check_file
from gencode.compile import compile_program

SKETCHES = Path(__file__).parent.parent / "sketches"
GOLDEN = Path(__file__).parent / "sketches"
NAMES = sorted(p.stem for p in SKETCHES.glob("*.gen") if p.stem != "look")


def test_there_are_at_least_8_sketches():
    assert len(NAMES) >= 8


@pytest.mark.parametrize("name", NAMES)
def test_sketch_graph_golden(name):
    graph = compile_program(check_file(SKETCHES / f"{name}.gen", catalog=catalog()))
    text = graph.to_text()
    golden = GOLDEN / f"{name}.graph"
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        golden.write_text(text)
    assert golden.exists(), f"{golden.name} is missing: write it with UPDATE_GOLDEN=1 and review it"
    assert text == golden.read_text()


def test_sketches_together_use_every_language_feature():
    text = "\n".join((SKETCHES / f"{n}.gen").read_text() for n in NAMES + ["look"])
    features = [
        "seed ",
        "size ",
        "model ",
        "sampler ",
        "steps ",
        "guidance ",
        "fps ",
        "prompt ",
        " = ",
        " as ",
        "noise",
        "diffuse",
        "sample",
        "encode",
        "decode",
        "interpolate latent",
        "interpolate prompt",
        "interpolate image",
        "edit ",
        "load ",
        "blend",
        "upscale",
        "grid",
        "save ",
        "include ",
        "param ",
        "{",
        " from ",
        "strength",
        "slerp",
        "ease",
        " + ",
        " * ",
        " - ",
        "{frame:",
        ".gif",
        ".mp4",
        "#",
        ";",
        "animate",
        "audio",
        "bpm",
        "zoom",
        "rotate",
        "sin(",
        "beat",
        "16b",
        "cadence",
    ]
    missing = [f for f in features if f not in text]
    assert not missing
