"""The committed editor bundle (gencode/watch/static/editor.js) matches its sources in web/: its
first line carries the sha256 of the sources and lockfile, recomputed here exactly as
web/build.mjs does; where node and web/node_modules are present, a rebuild must be identical."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"
BUNDLE = ROOT / "gencode" / "watch" / "static" / "editor.js"


def sources_sha() -> str:
    """build.mjs's sourcesSha(): each file's name, NUL, bytes, NUL, in sorted order."""
    names = ["build.mjs", "package.json", "package-lock.json"]
    names += [f"src/{p.name}" for p in (WEB / "src").glob("*.js")]
    h = hashlib.sha256()
    for name in sorted(names):
        h.update(name.encode() + b"\0" + (WEB / name).read_bytes() + b"\0")
    return h.hexdigest()


def test_the_bundle_was_built_from_these_sources() -> None:
    head = BUNDLE.read_text(encoding="utf-8").split("\n", 1)[0]
    m = re.search(r"sources-sha256: ([0-9a-f]{64})", head)
    assert m, f"{BUNDLE} has no sources-sha256 line: rebuild it (cd web && npm ci && npm run build)"
    assert m.group(1) == sources_sha(), (
        "web/ changed since editor.js was built: run 'cd web && npm ci && npm run build' and "
        "commit gencode/watch/static/editor.js"
    )


@pytest.mark.skipif(
    shutil.which("node") is None or not (WEB / "node_modules" / "esbuild").is_dir(),
    reason="needs node and web/node_modules (cd web && npm ci); CI's .ci/run does this",
)
def test_a_rebuild_is_identical() -> None:
    run = subprocess.run(
        ["node", "build.mjs", "--check"], cwd=WEB, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr or run.stdout
