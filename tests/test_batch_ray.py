"""`gencode batch --ray`: Ray actors render the items, this process writes them: the same files,
records and pixels as the single-machine runner; resuming; a worker that dies mid-batch; no Ray."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from click.testing import CliRunner  # noqa: E402
from PIL import Image  # noqa: E402
from runtime_support import write_script  # noqa: E402

from gencode.batch import ray_runner, ray_worker  # noqa: E402
from gencode.batch.catalog import Catalog  # noqa: E402
from gencode.batch.runner import BatchError, BatchSpec, run_batch  # noqa: E402
from gencode.cli.main import cli  # noqa: E402
from gencode.graph import canonical  # noqa: E402
from gencode.provenance.signing import Signer, new_key  # noqa: E402
from gencode.provenance.verify import verify  # noqa: E402
from gencode.runtime.outputs import read_record  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")

FACES = 'model "gan.safetensors"\nparam base = 0\nseed base\nsample as face\n'
# Everything that must travel to a worker: an include and an image in subfolders, a checkpoint
# beside the script and one named from GENCODE_MODELS; a still, frames and a GIF per item.
TRAVEL = """param base = 0
seed base
include "parts/look.gen"
x = load "assets/in.png"
diffuse "dunes" as still
diffuse "ocean" from x strength 0.5 as painted
model faces_lib
sample from (interpolate latent a b 2) as walk
"""


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture
def workers(monkeypatch):
    """Use a Worker subclass from this module (sent to Ray by value: it is not on Ray's path)."""
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])

    def use(cls, **attrs):
        for name, value in attrs.items():
            monkeypatch.setattr(cls, name, value)
        monkeypatch.setattr(ray_runner, "Worker", cls)
        return cls

    yield use
    ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


class Elsewhere(ray_worker.Worker):
    """A worker on another machine: it sees none of the driver's files, and keeps its own."""

    store = ""

    def visible(self, sha, path):
        return False

    def store_dir(self):
        return Path(self.store)


class CrashOn(ray_worker.Worker):
    """A worker whose process exits when it is given `item` (the first time, unless `always`)."""

    item = "seed-0002"
    marker = ""
    always = False

    def render(self, item, files):
        if item.name == self.item and (self.always or not os.path.exists(self.marker)):
            Path(self.marker).touch()
            os._exit(1)
        return super().render(item, files)


@pytest.fixture(autouse=True)
def _keys_home(tmp_path, monkeypatch):
    monkeypatch.setenv("GENCODE_HOME", str(tmp_path / "home"))


def pixels(folder: Path) -> dict[str, str]:
    with Catalog.open(folder) as cat:
        return {r.path: r.pixel_sha256 for r in cat.rows()}


def without(record: dict, *keys: str) -> dict:
    return {k: v for k, v in record.items() if k not in keys}


@pytest.mark.parametrize("where", ["another machine", "this machine"])
def test_ray_writes_what_the_local_runner_writes(
    where: str, tiny_dir: Path, monkeypatch, workers
) -> None:
    (tiny_dir / "parts").mkdir()
    (tiny_dir / "parts/look.gen").write_text('model "tiny.safetensors"\nsteps 2\n')
    (tiny_dir / "assets").mkdir()
    Image.new("RGB", (16, 16), (200, 120, 40)).save(tiny_dir / "assets/in.png")
    (tiny_dir / "lib").mkdir()
    (tiny_dir / "gan.safetensors").rename(tiny_dir / "lib/faces_lib.safetensors")
    monkeypatch.setenv("GENCODE_MODELS", str(tiny_dir / "lib"))
    script, seeds = write_script(tiny_dir, TRAVEL), [0, 1, 2, 3]
    run_batch(BatchSpec(script, tiny_dir / "local", seeds, progress=False))
    new_key()
    if where == "another machine":  # every file travels, once
        workers(Elsewhere, store=str(tiny_dir / "store"))
    else:  # the workers read the driver's files where they are: nothing travels
        monkeypatch.setattr(ray_runner.Shipper, "send", lambda *a: pytest.fail("a file was sent"))
    spec = BatchSpec(script, tiny_dir / "ray", seeds, sign=Signer(), grid=True, progress=False, ray="local")  # fmt: skip
    result = run_batch(spec)
    assert (result.items, result.rendered, result.outputs) == (4, 4, 4 * 5)
    assert pixels(tiny_dir / "ray") == pixels(tiny_dir / "local")
    if where == "another machine":
        sent = {f.read_bytes() for f in (tiny_dir / "store").iterdir()}
        beside = ["parts/look.gen", "assets/in.png", "tiny.safetensors", "lib/faces_lib.safetensors"]  # fmt: skip
        assert sent == {(tiny_dir / f).read_bytes() for f in beside}
    # The same records, down to the environment the pixels were made in (one machine here).
    for path in pixels(tiny_dir / "local"):
        here, there = read_record(tiny_dir / "local" / path), read_record(tiny_dir / "ray" / path)
        assert without(there, "created", "signature") == without(here, "created")
    report = verify([tiny_dir / "ray"])
    assert report.ok, [str(p) for p in report.problems]
    assert report.files == 4 * 5 + 1  # two stills, two frames and a GIF per item; the grid


def test_a_ray_batch_resumes_rendering_only_new_items(tiny_dir: Path) -> None:
    script, out = write_script(tiny_dir, FACES), tiny_dir / "batch"
    first = run_batch(BatchSpec(script, out, [0, 1, 2], progress=False, ray="local"))
    assert (first.rendered, first.skipped) == (3, 0)
    before = (out / "seed-0000/face.png").stat().st_mtime_ns
    more = run_batch(BatchSpec(script, out, list(range(6)), progress=False, ray="local"))
    assert (more.rendered, more.skipped, more.outputs) == (3, 3, 6)
    assert (out / "seed-0000/face.png").stat().st_mtime_ns == before
    assert verify([out]).ok


def test_a_worker_that_dies_has_its_items_rendered_again(tiny_dir: Path, workers, capfd) -> None:
    crashing = workers(CrashOn, marker=str(tiny_dir / "crashed"))
    script, out = write_script(tiny_dir, FACES), tiny_dir / "batch"
    result = run_batch(BatchSpec(script, out, list(range(6)), progress=False, ray="local"))
    assert Path(crashing.marker).exists()
    assert "died; re-queued its items" in capfd.readouterr().err
    assert (result.rendered, result.outputs) == (6, 6)
    with Catalog.open(out) as cat:
        assert cat.pending_items() == [] and len(cat.rows()) == 6
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == [f"seed-{i:04d}" for i in range(6)]  # fmt: skip
    assert verify([out]).ok


def test_an_item_that_keeps_killing_workers_stops_the_batch(
    tiny_dir: Path, workers, monkeypatch
) -> None:
    workers(CrashOn, marker=str(tiny_dir / "crashed"), always=True)
    monkeypatch.setattr(ray_runner, "TRIES", 1)
    script, out = write_script(tiny_dir, FACES), tiny_dir / "batch"
    with pytest.raises(BatchError, match="seed-0002: its Ray worker died 2 times rendering it"):
        run_batch(BatchSpec(script, out, [0, 1, 2, 3], progress=False, ray="local"))
    assert not (out / "manifest.json").exists()
    monkeypatch.setattr(ray_runner, "Worker", ray_worker.Worker)  # one that lives
    again = run_batch(BatchSpec(script, out, [0, 1, 2, 3], progress=False, ray="local"))
    assert again.rendered >= 1 and again.outputs == 4 and verify([out]).ok


def test_the_cli_takes_ray_options(tiny_dir: Path) -> None:
    script, out = write_script(tiny_dir, FACES), tiny_dir / "batch"
    assert "--ray ADDRESS" in CliRunner().invoke(cli, ["batch", "--help"]).output
    args = ["batch", str(script), "-o", str(out), "--seeds", "0-1"]
    res = CliRunner().invoke(cli, [*args, "--ray-workers", "1"])
    assert res.exit_code == 1 and "--ray-workers goes with --ray" in res.output
    res = CliRunner().invoke(cli, [*args, "--ray", "local", "--ray-workers", "1", "-q"])
    assert res.exit_code == 0, res.output
    assert sorted(pixels(out)) == ["seed-0000/face.png", "seed-0001/face.png"]


def test_without_ray_the_error_says_what_to_install(tiny_dir: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    script, out = write_script(tiny_dir, FACES), tiny_dir / "batch"
    with pytest.raises(BatchError, match=r"--ray needs Ray: pip install '\.\[ray\]'"):
        run_batch(BatchSpec(script, out, [0, 1], progress=False, ray="local"))
    res = CliRunner().invoke(cli, ["batch", str(script), "-o", str(out), "--seeds", "0-1", "--ray", "auto"])  # fmt: skip
    assert res.exit_code == 1 and "--ray needs Ray: pip install '.[ray]'" in res.output
    assert not out.exists()


def test_an_address_nobody_answers_at_fails_fast(tiny_dir: Path) -> None:
    script, out = write_script(tiny_dir, FACES), tiny_dir / "batch"
    for address in ["127.0.0.1:1", "ray://127.0.0.1:1"]:
        with pytest.raises(BatchError, match=f"--ray {address}: nothing answers there"):
            run_batch(BatchSpec(script, out, [0, 1], progress=False, ray=address))
    assert not out.exists()


def test_the_plain_batch_never_imports_ray() -> None:
    code = "import sys, gencode.cli.main, gencode.batch.runner; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_records_name_the_workers_environment(tiny_dir: Path, monkeypatch) -> None:
    """The environment in a record is the worker's (where the pixels were made)."""
    from gencode.provenance import record

    monkeypatch.setattr(record, "environment", lambda d, t: {"device": "here"})
    script, out = write_script(tiny_dir, FACES), tiny_dir / "batch"
    run_batch(BatchSpec(script, out, [0], progress=False, ray="local"))
    env = read_record(out / "seed-0000/face.png")["environment"]
    assert env["device"] == "cpu" and "torch" in env  # computed on the worker, not patched here
    assert canonical(env) != canonical({"device": "here"})
