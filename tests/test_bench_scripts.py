"""The bench scripts a newcomer runs first: `--help` writes nothing, a run leaves nothing behind."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"


def test_gallery_help_prints_usage_and_rewrites_no_picture() -> None:
    pictures = {p: p.stat().st_mtime_ns for p in (ROOT / "docs").glob("*.png")}
    res = subprocess.run(
        [sys.executable, str(BENCH / "gallery.py"), "--help"], capture_output=True, text=True
    )
    assert res.returncode == 0 and "usage:" in res.stdout, res.stderr
    assert {p: p.stat().st_mtime_ns for p in pictures} == pictures


def test_sd_walk_removes_the_folders_and_files_it_made(monkeypatch) -> None:
    pytest.importorskip("diffusers")
    monkeypatch.syspath_prepend(str(BENCH))
    sd_walk = importlib.import_module("sd_walk")
    args = sd_walk.arguments(["--frames", "1", "--steps", "1", "--device", "cpu", "--threads", "1"])
    try:
        sd_walk.gencode_walk(args, sd_walk.prepare(args))
        made = list(args.made)
        assert len(made) == 2 and all(p.exists() for p in made)  # the model folder, walk.gen
    finally:
        sd_walk.cleanup(args)
    assert not any(p.exists() for p in made)
