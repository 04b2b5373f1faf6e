"""`gencode batch`: planning (seeds, sweeps, names), the catalog, resuming, the grid and the manifest."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from runtime_support import write_script

from gencode.batch.catalog import CATALOG_NAME, Catalog
from gencode.batch.plan import PlanError, parse_seeds, parse_sweep, plan, seed_param
from gencode.batch.runner import BatchError, BatchSpec, run_batch
from gencode.cli.main import cli
from gencode.graph import canonical
from gencode.provenance.verify import verify
from gencode.runtime.outputs import read_record

pytestmark = pytest.mark.usefixtures("one_thread")

FACES = 'model "gan.safetensors"\nparam base = 0\nseed base\na = noise\nsample from a as face\n'
SCENES = 'model "tiny.safetensors"\nparam subject = "dunes"\nparam base = 0\nseed base\ndiffuse subject steps 2 as still\n'  # fmt: skip


@pytest.fixture(autouse=True)
def _keys_home(tmp_path, monkeypatch):
    monkeypatch.setenv("GENCODE_HOME", str(tmp_path / "home"))


def items_on_disk(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir())


# ---- planning ----------------------------------------------------------------------------------


def test_seed_ranges_and_sweeps_parse() -> None:
    assert parse_seeds("0-3,7, 9..10,2") == [0, 1, 2, 3, 7, 9, 10]
    assert parse_sweep("subject=ocean, forest at night,ocean") == ("subject", ["ocean", "forest at night"])  # fmt: skip
    for bad in ["3-1", "a", "", "1-99999999999999999999"]:
        with pytest.raises(PlanError, match="--seeds"):
            parse_seeds(bad)
    with pytest.raises(PlanError, match="NAME=value1"):
        parse_sweep("no-equals")


def test_items_are_every_combination_with_stable_names() -> None:
    items = plan([7, 12000], [("subject", ["Ocean at night", "ocean-at-night"]), ("g", ["2.5"])])
    names = [i.name for i in items]
    assert names[0].startswith("seed-0007_subject-ocean-at-night-") and names[0].endswith("_g-2.5")
    assert len(set(names)) == 4 and names[2].startswith("seed-12000_")
    assert plan([7, 12000], [("subject", ["Ocean at night", "ocean-at-night"]), ("g", ["2.5"])]) == items  # fmt: skip
    assert [i.name for i in plan(None, [("p", ["a/b", "c"])])] == ["p-a-b", "p-c"]
    assert items[1].sweep == {"subject": "ocean-at-night", "g": "2.5"} and items[1].seed == 7


def test_how_a_seed_reaches_the_script() -> None:
    assert seed_param(FACES, "f.gen") == "base"
    assert seed_param('param s = 1\nseed s * 10 + 1\ndiffuse "x"\n', "f.gen") == "s"
    assert seed_param('diffuse "x"\n', "f.gen") is None  # no seed: a `seed N;` goes first
    with pytest.raises(PlanError, match="sets its own seed.*param base = 0"):
        seed_param('seed 42\ndiffuse "x"\n', "f.gen")


# ---- running -----------------------------------------------------------------------------------


def test_a_batch_renders_catalogs_and_verifies(tiny_dir: Path) -> None:
    out = tiny_dir / "batch"
    spec = BatchSpec(write_script(tiny_dir, FACES), out, [0, 1, 2, 3], grid=True, progress=False)
    result = run_batch(spec)
    assert (result.items, result.rendered, result.outputs) == (4, 4, 4)
    assert items_on_disk(out) == ["seed-0000", "seed-0001", "seed-0002", "seed-0003"]
    conn = sqlite3.connect(out / CATALOG_NAME)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    rows = conn.execute("SELECT path, seed, params, status FROM outputs ORDER BY path").fetchall()
    assert rows[1] == ("seed-0001/face.png", 1, "{}", "done")
    with Catalog.open(out) as cat:
        row = cat.rows()[2]
    record = read_record(out / row.path)
    assert canonical(record) == row.record and row.pixel_sha256 == record["pixels"]["sha256"]
    assert record["batch"] == {"item": "seed-0002", "seed": 2, "sweep": {}}
    assert record["script"]["sets"] == {"base": "2"} and record["seeds"][0] == 2
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["items"], manifest["outputs"], manifest["grid"]) == (4, 4, "grid.png")
    assert read_record(out / "grid.png")["kind"] == "contact-sheet"
    sheet = CliRunner().invoke(cli, ["inspect", str(out / "grid.png")]).output
    assert "sheet     4 items, seed-0000/face.png first" in sheet
    report = verify([out])
    assert report.ok, report.problems
    assert report.files == 5  # four faces and the grid


def test_a_rerun_skips_what_is_done_and_extends(tiny_dir: Path) -> None:
    out, script = tiny_dir / "batch", write_script(tiny_dir, FACES)
    run_batch(BatchSpec(script, out, [0, 1], progress=False))
    before = (out / "seed-0000/face.png").stat().st_mtime_ns
    again = run_batch(BatchSpec(script, out, [0, 1], progress=False))
    assert (again.rendered, again.skipped) == (0, 2)
    run_batch(BatchSpec(script, out, [0, 1], grid=True, progress=False))
    more = run_batch(BatchSpec(script, out, [0, 1, 2], progress=False))
    assert (more.rendered, more.skipped, more.outputs) == (1, 2, 3)
    assert len(read_record(out / "grid.png")["tiles"]) == 3  # a grid is kept up to date
    assert (out / "seed-0000/face.png").stat().st_mtime_ns == before
    assert verify([out]).ok


def test_a_folder_belongs_to_one_script(tiny_dir: Path) -> None:
    out = tiny_dir / "batch"
    run_batch(BatchSpec(write_script(tiny_dir, FACES), out, [0], progress=False))
    other = write_script(tiny_dir, FACES + "sample from a as again\n", "other.gen")
    with pytest.raises(BatchError, match="another script"):
        run_batch(BatchSpec(other, out, [0], progress=False))
    with pytest.raises(BatchError, match="made with float32 networks"):
        run_batch(BatchSpec(out.parent / "sketch.gen", out, [0, 1], progress=False, cpu_bf16=True))
    with pytest.raises(BatchError, match="holds other files and no batch catalog"):
        run_batch(BatchSpec(other, tiny_dir, [0], progress=False))  # the models' folder


def test_sweeps_and_a_script_without_a_seed(tiny_dir: Path) -> None:
    out = tiny_dir / "batch"
    spec = BatchSpec(write_script(tiny_dir, SCENES), out, [1], [("subject", ["ocean", "forest night"])], progress=False)  # fmt: skip
    run_batch(spec)
    assert items_on_disk(out) == ["seed-0001_subject-forest-night", "seed-0001_subject-ocean"]
    assert read_record(out / "seed-0001_subject-ocean/still.png")["prompt"] == "ocean"
    plain = write_script(tiny_dir, 'model "gan.safetensors"\nsample as face\n', "plain.gen")
    run_batch(BatchSpec(plain, tiny_dir / "plain", [5, 6], progress=False))
    record = read_record(tiny_dir / "plain/seed-0005/face.png")
    assert record["script"]["source"].startswith("seed 5; model") and record["seeds"] == [5]


def test_bad_plans_are_refused_before_anything_is_written(tiny_dir: Path) -> None:
    script, out = write_script(tiny_dir, FACES), tiny_dir / "batch"
    with pytest.raises(BatchError, match="no param colour"):
        run_batch(BatchSpec(script, out, [0], [("colour", ["red"])], progress=False))
    fixed = write_script(tiny_dir, 'model "gan.safetensors"\nparam b = 0\nseed 4\nsample as f\n', "fixed.gen")  # fmt: skip
    with pytest.raises(PlanError, match="changes nothing"):
        run_batch(BatchSpec(fixed, out, [0, 1], seed_param="b", progress=False))
    assert not out.exists()


def test_cli_batch_summary_and_resume(tiny_dir: Path) -> None:
    script, out = write_script(tiny_dir, FACES), tiny_dir / "batch"
    args = ["batch", str(script), "-o", str(out), "--seeds", "0-2", "--grid"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "3 items (3 rendered, 0 already done), 3 files cataloged" in res.output
    assert "contact sheet" in res.output
    res = CliRunner().invoke(cli, args)
    assert "(0 rendered, 3 already done)" in res.output
    res = CliRunner().invoke(cli, ["batch", str(script), "-o", str(out)])
    assert res.exit_code == 1 and "give --seeds and/or --sweep" in res.output
    bad = write_script(tiny_dir, "difuse\n", "bad.gen")
    res = CliRunner().invoke(cli, ["batch", str(bad), "--seeds", "1"])
    assert res.exit_code == 1 and "1 error" in res.output
