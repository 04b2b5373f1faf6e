"""Faults: a batch killed with SIGKILL at random points resumes to a complete, verified folder;
tampering with a finished batch is reported by `verify`, naming the file and the problem."""

from __future__ import annotations

import multiprocessing
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from runtime_support import write_script

from gencode.batch.catalog import CATALOG_NAME, Catalog
from gencode.batch.runner import BatchSpec, run_batch
from gencode.cli.main import cli
from gencode.provenance.pixels import decode_file
from gencode.provenance.signing import Signer, new_key
from gencode.provenance.verify import verify
from gencode.runtime.atomic import TEMP_MARK
from gencode.runtime.outputs import read_record, write_still

pytestmark = pytest.mark.usefixtures("one_thread")

# Per item: a diffused still, two GAN frames and their GIF (with its sidecar): five files.
SCRIPT = """param base = 0
seed base
model "tiny.safetensors"
diffuse "dunes" steps 2 as still
model "gan.safetensors"
sample from (interpolate latent a b 2) as walk
"""
ITEMS = 96  # enough that ten kill cycles (1-2 items each, more on a fast machine) fit
KILLS = 10
PER_ITEM = ["still.png", "walk.gif", "walk.gif.json", "walk/0000.png", "walk/0001.png"]


def done_count(catalog: Path) -> int:
    """Finished items, read beside the running batch (WAL: readers never block it)."""
    try:
        with sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("SELECT COUNT(*) FROM items WHERE status = 'done'").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # not created yet


def start_cli(script: Path, out: Path) -> subprocess.Popen:
    """`gencode batch` as a user runs it, in its own process."""
    env = os.environ | {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "gencode", "batch", str(script), "-o", str(out), "--seeds", f"0-{ITEMS - 1}", "-q"]  # fmt: skip
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def batch_process(script: str, out: str) -> None:
    """The batch `gencode batch` runs, in a process forked from a server that has torch
    imported already: a kill costs no interpreter start-up, so ten fit in seconds."""
    import torch

    torch.set_num_threads(1)
    run_batch(BatchSpec(Path(script), Path(out), list(range(ITEMS)), progress=False))


def kill_after_progress(proc, catalog: Path, rng: random.Random) -> bool:
    """SIGKILL the batch a random moment after it finishes 1-2 more items; False if it ended."""
    start_count, want = done_count(catalog), rng.randint(1, 2)
    while proc.is_alive() and done_count(catalog) < start_count + want:
        time.sleep(0.005)
    time.sleep(rng.uniform(0, 0.12))  # lands mid-render, mid-write or mid-commit of the next
    if not proc.is_alive():
        return False
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    return True


@pytest.mark.timeout(240)
def test_a_batch_killed_at_random_points_resumes_to_a_complete_verified_folder(
    tiny_dir: Path,
) -> None:
    script, out = write_script(tiny_dir, SCRIPT), tiny_dir / "batch"
    catalog, rng, kills = out / CATALOG_NAME, random.Random(1234), 0
    server = multiprocessing.get_context("forkserver")
    server.set_forkserver_preload(["torch", "gencode.batch.runner", "gencode.render", "gencode.runtime.execute"])  # fmt: skip
    deadline = time.monotonic() + 200
    while kills < KILLS and time.monotonic() < deadline:
        proc = server.Process(target=batch_process, args=(str(script), str(out)))
        proc.start()
        if kill_after_progress(proc, catalog, rng):
            kills += 1
        else:
            assert proc.exitcode == 0
            break
    assert kills >= KILLS, f"only {kills} kills landed before the batch finished"
    proc = start_cli(script, out)  # the last resume through the command line
    assert proc.wait(timeout=120) == 0, proc.stderr.read().decode()
    # Every item exactly once, with exactly its files; no temp file; catalog = files.
    items = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert items == [f"seed-{i:04d}" for i in range(ITEMS)]
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert not [f for f in files if TEMP_MARK in f]
    expected = sorted(f"{item}/{f}" for item in items for f in PER_ITEM)
    assert [f for f in files if "/" in f] == expected
    with Catalog.open(out) as cat:
        rows = cat.rows()
        assert cat.pending_items() == [] and len(cat.done_items()) == ITEMS
    assert sorted(r.path for r in rows) == sorted(f for f in expected if not f.endswith(".json"))
    report = verify([out])
    assert report.ok, [str(p) for p in report.problems]


# ---- tampering ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def finished(tmp_path_factory, _tiny_model_files) -> Path:
    """A signed, finished four-item batch, made once; each test tampers with a copy."""
    folder = tmp_path_factory.mktemp("finished")
    for f in _tiny_model_files.iterdir():
        shutil.copy2(f, folder / f.name)
    os.environ["GENCODE_HOME"] = str(folder / "home")
    try:
        new_key()
        faces = 'model "gan.safetensors"\nparam base = 0\nseed base\nsample as face\n'
        spec = BatchSpec(write_script(folder, faces), folder / "batch", [0, 1, 2, 3], sign=Signer(), progress=False)  # fmt: skip
        run_batch(spec)
    finally:
        del os.environ["GENCODE_HOME"]
    return folder / "batch"


@pytest.fixture
def batch(finished: Path, tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("GENCODE_HOME", str(finished.parent / "home"))
    copy = tmp_path / "batch"
    shutil.copytree(finished, copy)
    return copy


def problems(folder: Path) -> list[str]:
    res = CliRunner().invoke(cli, ["verify", str(folder)])
    assert (res.exit_code == 0) == ("FAIL" not in res.output), res.output
    return [line for line in res.output.splitlines() if line.startswith("FAIL")]


def test_the_untouched_batch_verifies(batch: Path) -> None:
    assert problems(batch) == []


def test_one_changed_pixel_is_reported(batch: Path) -> None:
    path = batch / "seed-0001/face.png"
    pixels = decode_file(path).copy()
    pixels[3, 4, 0] ^= 1
    write_still(path, pixels, read_record(path))  # same record, signature and all
    assert problems(batch) == [f"FAIL {path}: pixels changed: their sha256 is {_sha(pixels)[:12]}…, the record says {read_record(path)['pixels']['sha256'][:12]}…"]  # fmt: skip


def test_an_edited_record_is_reported(batch: Path) -> None:
    path = batch / "seed-0002/face.png"
    write_still(path, decode_file(path), read_record(path) | {"seed": 7})
    found = problems(batch)
    assert f"FAIL {path}: signature invalid: signature does not match the record (edited after signing?)" in found  # fmt: skip
    assert f"FAIL {path}: its record differs from the catalog's (file or catalog edited)" in found


def test_a_removed_catalog_row_is_reported(batch: Path) -> None:
    with sqlite3.connect(batch / CATALOG_NAME) as conn:
        conn.execute("DELETE FROM outputs WHERE path = 'seed-0003/face.png'")
    found = problems(batch)
    assert f"FAIL {batch / 'seed-0003/face.png'}: not in the catalog (its row was removed, or the file added)" in found  # fmt: skip
    assert any("manifest.json: the catalog does not match: 3 rows now, 4 when" in f for f in found)


def test_a_truncated_png_is_reported(batch: Path) -> None:
    path = batch / "seed-0000/face.png"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])
    found = problems(batch)
    assert len(found) == 1 and found[0].startswith(f"FAIL {path}: ")
    assert "truncated or corrupt" in found[0]


def test_a_missing_file_and_a_leftover_temp_file_are_reported(batch: Path) -> None:
    (batch / "seed-0000/face.png").unlink()
    (batch / f"seed-0001/.face.1234{TEMP_MARK}.png").write_bytes(b"half")
    found = problems(batch)
    assert f"FAIL {batch / 'seed-0000/face.png'}: listed in the catalog but missing" in found
    assert any("a temp file left by an interrupted write" in f for f in found)


def _sha(pixels: np.ndarray) -> str:
    from gencode.provenance.pixels import pixel_sha256

    return pixel_sha256(pixels)
