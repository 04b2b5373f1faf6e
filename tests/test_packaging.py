"""A non-editable wheel carries the grammar (and works from outside the source tree)."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-q",
        "-w",
        str(out),
        str(ROOT),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0 and "No module named 'hatchling'" in result.stderr:
        pytest.skip("hatchling is not installed (pip install -e .[test])")
    assert result.returncode == 0, result.stderr
    (path,) = out.glob("gencode-*.whl")
    return path


def test_wheel_contains_the_grammar(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "gencode/grammar/gen.lark" in names
    assert "gencode/parse.py" in names


def test_installed_wheel_parses_from_another_folder(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    code = (
        "import gencode, gencode.parse as p\n"
        f"assert gencode.__file__.startswith({str(target)!r}), gencode.__file__\n"
        f"assert str(p.grammar_path()).startswith({str(target)!r})\n"
        "print(len(p.parse('seed 42; diffuse \"dunes\" steps 50').statements))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "2"


def _user_text() -> dict[Path, str]:
    """What a user reads: the README, the docs, and gencode's own messages."""
    files = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "gencode").rglob("*.py")]
    return {f: f.read_text(encoding="utf-8") for f in files}


def test_extras_are_installed_from_the_checkout_never_by_the_index_name() -> None:
    """`pip install 'gencode[sd]'` resolves to an unrelated package on the index."""
    wrong = [str(f.relative_to(ROOT)) for f, text in _user_text().items() if "gencode[" in text]
    assert wrong == []
    assert "pip install '.[sd]'" in (ROOT / "docs/stable-diffusion.md").read_text()


def test_the_files_readme_commands_leave_in_the_checkout_are_ignored() -> None:
    import re
    import shutil

    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    readme = (ROOT / "README.md").read_text()
    outputs = set(re.findall(r"^gencode [^#\n]*?-o ([\w./-]+)", readme, re.M)) - {"DIR"}
    assert {"out", "grid.png", "covers"} <= outputs
    for path in outputs:
        probe = f"{path}/x.png" if "." not in path else path
        result = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", probe])
        assert result.returncode == 0, f"{path} is not in .gitignore"
    assert "apt-get install chromium" in readme  # .ci/run may install it: the README says so
