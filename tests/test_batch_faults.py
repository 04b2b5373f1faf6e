"""Faults: a batch killed with SIGKILL at random points resumes to a complete, verified folder;
tampering with a finished batch is reported by `verify`, naming the file and the problem."""

from __future__ import annotations

import json
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
from gencode.batch.runner import BatchError, BatchSpec, run_batch
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


def test_a_missing_file_is_reported_and_a_leftover_temp_file_removed(batch: Path) -> None:
    (batch / "seed-0000/face.png").unlink()
    temp = batch / f"seed-0001/.face.p999999999-ab12{TEMP_MARK}.png"  # its writer is gone
    temp.write_bytes(b"half")
    res = CliRunner().invoke(cli, ["verify", str(batch)])
    assert f"FAIL {batch / 'seed-0000/face.png'}: listed in the catalog but missing" in res.output
    assert f"note {temp}: removed a temp file left by an interrupted write" in res.output
    assert not temp.exists() and "temp" not in "".join(problems(batch))


def test_a_temp_file_alone_no_longer_fails_verify_for_good(batch: Path) -> None:
    (batch / f"seed-0001/.face.1234{TEMP_MARK}.png").write_bytes(b"half")  # an older name
    assert problems(batch) == []


# ---- batches whose catalog or files were deleted -----------------------------------------------


def test_a_folder_with_a_manifest_is_a_batch_without_its_catalog(batch: Path, finished: Path) -> None:  # fmt: skip
    shutil.rmtree(batch / "seed-0003")
    for p in batch.glob(f"{CATALOG_NAME}*"):
        p.unlink()
    found = problems(batch)
    assert f"FAIL {batch / CATALOG_NAME}: missing: the manifest says this batch holds 4 files; each file present is checked on its own" in found  # fmt: skip
    res = CliRunner().invoke(cli, ["batch", str(finished.parent / "sketch.gen"), "-o", str(batch), "--seeds", "0-3", "-q"])  # fmt: skip
    assert res.exit_code == 1 and "catalog (catalog.sqlite) is missing, so it can't be resumed" in res.output, res.output  # fmt: skip
    assert (batch / "manifest.json").is_file()


def test_resume_restores_a_deleted_file_and_its_row(batch: Path, finished: Path) -> None:
    shutil.rmtree(batch / "seed-0003")
    with sqlite3.connect(batch / CATALOG_NAME) as conn:
        conn.execute("DELETE FROM outputs WHERE item = 'seed-0003'")
    before = json.loads((batch / "manifest.json").read_text())
    spec = BatchSpec(finished.parent / "sketch.gen", batch, [0, 1, 2, 3], sign=Signer(), progress=False)  # fmt: skip
    result = run_batch(spec)
    assert result.restored == ["seed-0003"] and result.rendered == 1
    after = json.loads((batch / "manifest.json").read_text())
    assert after["outputs"] == before["outputs"] == 4
    assert after["outputs_sha256"] == before["outputs_sha256"]  # the same pixels, restored
    assert problems(batch) == []


def test_resume_never_replaces_a_manifest_with_a_smaller_one(batch: Path, finished: Path) -> None:
    with sqlite3.connect(batch / CATALOG_NAME) as conn:  # a batch that forgot an item entirely
        conn.execute("DELETE FROM outputs WHERE item = 'seed-0003'")
        conn.execute("DELETE FROM items WHERE item = 'seed-0003'")
    before = (batch / "manifest.json").read_bytes()
    with pytest.raises(BatchError, match="held 4 files in 4 items when it finished, the catalog now 3 in 3"):  # fmt: skip
        run_batch(BatchSpec(finished.parent / "sketch.gen", batch, [0, 1, 2], sign=Signer(), progress=False))  # fmt: skip
    assert (batch / "manifest.json").read_bytes() == before


def test_bad_json_in_the_catalog_is_a_clean_error_and_keeps_the_manifest(batch: Path, finished: Path) -> None:  # fmt: skip
    with sqlite3.connect(batch / CATALOG_NAME) as conn:
        conn.execute("UPDATE outputs SET params = '{bad' WHERE item = 'seed-0001'")
        conn.execute("UPDATE meta SET value = '[1,' WHERE key = 'sets'")
    found = problems(batch)
    assert len(found) == 1 and "is not valid JSON" in found[0] and "catalog was edited or damaged" in found[0]  # fmt: skip
    res = CliRunner().invoke(cli, ["batch", str(finished.parent / "sketch.gen"), "-o", str(batch), "--seeds", "0-3", "-q"])  # fmt: skip
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit)
    assert "is not valid JSON" in res.output and (batch / "manifest.json").is_file()


def test_a_smaller_rerun_writes_no_false_manifest(batch: Path, finished: Path) -> None:
    (batch / "manifest.json").unlink()  # the batch was interrupted: items 2 and 3 unfinished
    with sqlite3.connect(batch / CATALOG_NAME) as conn:
        conn.execute("UPDATE items SET status = 'pending' WHERE item IN ('seed-0002', 'seed-0003')")
    res = CliRunner().invoke(cli, ["batch", str(finished.parent / "sketch.gen"), "-o", str(batch), "--seeds", "0-1", "--sign"])  # fmt: skip
    assert res.exit_code == 1, res.output
    assert "not finished: 2 item(s) of an earlier, larger run are still pending (e.g. seed-0002)" in res.output  # fmt: skip
    assert not (batch / "manifest.json").exists()


def test_two_batches_on_one_folder_the_second_is_told_who_holds_it(batch: Path, finished: Path) -> None:  # fmt: skip
    from gencode.batch.lock import FolderLock

    with FolderLock(batch):  # a batch running in this folder
        with pytest.raises(BatchError, match=rf"being written by another batch \(pid {os.getpid()} on "):  # fmt: skip
            run_batch(BatchSpec(finished.parent / "sketch.gen", batch, [0, 1, 2, 3], progress=False))  # fmt: skip
        found = problems(batch)
        assert len(found) == 1 and f"a batch is writing this folder now (pid {os.getpid()}" in found[0]  # fmt: skip
    assert problems(batch) == []  # released


def test_a_batch_folder_under_a_regular_file_is_a_clean_error(finished: Path, tmp_path: Path) -> None:  # fmt: skip
    (tmp_path / "file").write_text("x")
    for out in (tmp_path / "file" / "b", Path("/proc/gencode-batch")):
        res = CliRunner().invoke(cli, ["batch", str(finished.parent / "sketch.gen"), "-o", str(out), "--seeds", "0-1", "-q"])  # fmt: skip
        assert res.exit_code == 1 and isinstance(res.exception, SystemExit), res.exception
        assert "can't make the batch folder there" in res.output, res.output


def _sha(pixels: np.ndarray) -> str:
    from gencode.provenance.pixels import pixel_sha256

    return pixel_sha256(pixels)
