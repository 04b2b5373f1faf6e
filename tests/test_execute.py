"""The executor: what an edit re-runs (counted), shared nodes, frame caching, disk cache, limits."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import torch
from runtime_support import LAYOUT_ATOL

from gencode.render import load_script, render
from gencode.runtime.cache import DiskCache, MemoryCache
from gencode.runtime.device import DeviceError, pick_device, tune_malloc
from gencode.runtime.execute import Executor, RenderError
from gencode.runtime.registry import Cancelled

pytestmark = pytest.mark.usefixtures("one_thread")

SCRIPT = """model "tiny.safetensors"
seed 42
diffuse "dunes" as dawn
diffuse "ocean" as sea
walk = interpolate latent a b 6
walk
"""


def run(ex: Executor, folder: Path, text: str):
    path = folder / "sketch.gen"
    path.write_text(text)
    return render(path, executor=ex, write=False)


def test_an_edited_line_reruns_only_the_nodes_it_changes(tiny_dir: Path) -> None:
    ex = Executor("cpu")
    first = run(ex, tiny_dir, SCRIPT)
    assert first.summary.runs["diffuse"] == 3  # two stills and the walk (one batched call)
    second = run(ex, tiny_dir, SCRIPT.replace('"ocean"', '"night"'))
    assert second.summary.runs == {"diffuse": 1, "prompt": 1}
    assert torch.equal(second.values["dawn"], first.values["dawn"])
    assert not torch.equal(second.values["sea"], first.values["sea"])
    assert sum(run(ex, tiny_dir, SCRIPT).summary.runs.values()) == 0  # the old line: all cached


def test_an_output_only_edit_runs_nothing(tiny_dir: Path) -> None:
    ex = Executor("cpu")
    run(ex, tiny_dir, SCRIPT)
    again = run(ex, tiny_dir, SCRIPT + 'save walk "walk.mp4"\n')
    assert sum(again.summary.runs.values()) == 0 and again.summary.hits["diffuse"] == 3


def test_identical_subexpressions_are_computed_once(tiny_dir: Path) -> None:
    ex = Executor("cpu")
    text = 'model "tiny.safetensors"\nx = diffuse "dunes"\ny = diffuse "dunes"\nblend x y\nx\n'
    result = run(ex, tiny_dir, text)
    assert result.summary.runs["diffuse"] == 1 and result.summary.runs["prompt"] == 2  # + ""


def test_changing_one_frame_of_a_schedule_renders_that_frame_only(tiny_dir: Path) -> None:
    ex = Executor("cpu")
    text = (
        'model "tiny.safetensors"\nguidance {0: 3, 2: 3, 3: 5, 4: 3, 7: 3}\n'
        "interpolate latent a b 8\n"
    )
    first = run(ex, tiny_dir, text)
    second = run(ex, tiny_dir, text.replace("3: 5", "3: 7"))
    assert second.summary.ops["diffuse"].runs == 1 and second.summary.ops["diffuse"].frames == 1
    a, b = first.values["interpolate"], second.values["interpolate"]
    changed = [f for f in range(8) if not torch.equal(a[f], b[f])]
    assert changed == [3]


def test_the_disk_cache_survives_the_process_and_ignores_a_corrupt_entry(tiny_dir: Path) -> None:
    cache = tiny_dir / "cache"
    first = run(Executor("cpu", disk_cache=cache), tiny_dir, SCRIPT)
    fresh = run(Executor("cpu", disk_cache=cache), tiny_dir, SCRIPT)
    assert fresh.summary.runs.get("diffuse", 0) == 0
    for name, value in first.values.items():
        assert torch.equal(fresh.values[name], value), name
    entry = sorted(cache.rglob("*.st"))[0]
    data = bytearray(entry.read_bytes())
    data[len(data) // 2] ^= 0xFF
    entry.write_bytes(bytes(data))
    healed = run(Executor("cpu", disk_cache=cache), tiny_dir, SCRIPT)
    assert healed.summary.runs["diffuse"] == 1  # the damaged value (or frame) was recomputed
    for name, value in first.values.items():
        assert torch.allclose(healed.values[name], value, atol=LAYOUT_ATOL), name  # a frame alone
    assert not list(cache.rglob("*.tmp"))


def test_disk_cache_entries_are_whole_or_absent(tmp_path: Path) -> None:
    disk = DiskCache(tmp_path)
    x = torch.arange(6.0).view(2, 3)
    disk.put("k", x)
    assert torch.equal(disk.get("k"), x) and disk.get("other") is None
    p = disk.path("k")
    p.write_bytes(p.read_bytes()[:-5])  # torn write (as if renamed before its end)
    assert disk.get("k") is None and not p.exists()
    assert DiskCache(tmp_path, salt="cuda:float16").path("k") != p


def test_memory_cache_evicts_least_recently_used_beyond_its_bytes() -> None:
    cache = MemoryCache(max_bytes=3 * 400)
    for k in "abc":
        cache.put(k, torch.zeros(100))  # 400 bytes each
    cache.get("a")
    cache.put("d", torch.zeros(100))
    assert "b" not in cache and {"a", "c", "d"} <= {k for k in "abcd" if k in cache}
    cache.put("huge", torch.zeros(1000))
    assert "huge" not in cache and cache.bytes == 1200


def test_a_render_too_big_for_memory_is_refused_before_running(tiny_dir: Path) -> None:
    ex = Executor("cpu", memory_limit=1 << 20)
    with pytest.raises(RenderError, match=r"needs about .* MiB of memory .* of 6 frames.* 1.0 MiB"):
        run(ex, tiny_dir, SCRIPT)
    assert sum(ex.counts.values()) == 0


def test_a_cancelled_run_stops_at_the_next_step(tiny_dir: Path) -> None:
    ex, stop = Executor("cpu"), threading.Event()
    stop.set()
    script = load_script(_write(tiny_dir, SCRIPT))
    with pytest.raises(Cancelled):
        ex.run(script.graph, script.root, cancel=stop)


def test_devices_and_allocator() -> None:
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("auto").type in ("cuda", "mps", "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="no CUDA"):
            pick_device("cuda")
    assert isinstance(tune_malloc(), bool) and tune_malloc() == tune_malloc()


def _write(folder: Path, text: str) -> Path:
    path = folder / "sketch.gen"
    path.write_text(text)
    return path


def test_a_long_chain_runs_without_deep_recursion() -> None:
    from gencode.graph import Graph, Node, Output

    g = Graph()
    z = g.add(Node.make("noise", {"seed": 1, "shape": [4]}, (), "latent"))
    for i in range(3000):  # deeper than Python's recursion limit
        z = g.add(Node.make("scale", {"factor": 1.0 + (i % 2) * 1e-9}, (z,), "latent"))
    g.outputs.append(Output("z", z, "z.png", 12.0))
    result = Executor("cpu").run(g)
    assert result.summary.runs["scale"] == 3000 and result.values["z"].shape == (4,)


def test_one_default_chunk_for_the_executor_the_op_context_and_the_docs() -> None:
    import inspect

    from gencode.runtime.registry import DEFAULT_CHUNK, OpContext

    assert inspect.signature(Executor).parameters["chunk"].default == DEFAULT_CHUNK
    assert OpContext(torch.device("cpu")).chunk == DEFAULT_CHUNK
    docs = (Path(__file__).parent.parent / "docs/stable-diffusion.md").read_text()
    assert f"({DEFAULT_CHUNK} frames per batch by default)" in docs
