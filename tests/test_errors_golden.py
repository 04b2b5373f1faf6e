"""Golden error messages: each tests/errors/NAME.gen checks to exactly tests/errors/NAME.err.

Regenerate after an intended wording change with: UPDATE_GOLDEN=1 pytest tests/test_errors_golden.py
"""

import os
from pathlib import Path

import pytest
from frontend_support import catalog

from gencode.check import check_text
from gencode.errors import GenError

ROOT = Path(__file__).parent / "errors"
CASES = sorted(p.stem for p in ROOT.glob("*.gen"))
SETS = {"set_wrong_type": {"frames": "lots"}}


def diagnostics_of(name: str) -> str:
    path = ROOT / f"{name}.gen"
    try:
        program = check_text(path.read_text(), path.name, ROOT, SETS.get(name), catalog())
    except GenError as e:
        text = e.format()
    else:
        text = "\n".join(d.format(program.sources) for d in program.notes)
    return text.replace(str(ROOT) + "/", "") + "\n"


def test_there_are_at_least_25_error_cases():
    assert len(CASES) >= 25


@pytest.mark.parametrize("name", CASES)
def test_error_golden(name):
    got = diagnostics_of(name)
    golden = ROOT / f"{name}.err"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(got)
    assert golden.exists(), f"{golden.name} is missing: write it with UPDATE_GOLDEN=1 and review it"
    assert "error:" in got, f"{name}.gen reports no error"
    assert got == golden.read_text()
