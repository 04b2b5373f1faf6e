"""Outputs are written through folder descriptors: a folder swapped for a symlink mid-render
(after every path was checked) is refused, and nothing lands outside the output folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gencode.graph import Graph, Node, Output
from gencode.runtime.outdir import OutDir, OutputError
from gencode.runtime.outputs import write_outputs


def frames_output(n: int, pattern: str, animation: str | None = None) -> tuple[Graph, dict]:
    node = Node.make("const", {"n": n}, (), "images", n)
    graph = Graph()
    graph.outputs.append(Output("walk", node, pattern, 8.0, animation))
    return graph, {node.key: torch.rand(n, 3, 8, 8, generator=torch.Generator().manual_seed(0))}


def test_a_folder_swapped_for_a_symlink_mid_render_gets_nothing(tmp_path: Path) -> None:
    out, outside = tmp_path / "out", tmp_path / "outside"
    outside.mkdir()
    graph, values = frames_output(6, "f/{frame:02}.png", animation="f/walk.gif")

    # The records hook runs just before each frame's write.
    def swap_after_two(o, frame, px, decoded=None):
        if frame == 2:
            shutil.rmtree(out / "f")
            (out / "f").symlink_to(outside, target_is_directory=True)
        return None

    with pytest.raises(OutputError, match="'f' is a symlink"):
        write_outputs(graph, values, out, swap_after_two)
    assert list(outside.iterdir()) == []


def test_a_symlinked_file_target_is_replaced_not_followed(tmp_path: Path) -> None:
    out, secret = tmp_path / "out", tmp_path / "secret.txt"
    secret.write_text("keep me")
    out.mkdir()
    (out / "x.png").symlink_to(secret)
    with OutDir(out) as folder, folder.open(out / "x.png") as f:
        f.write(b"new")
    assert secret.read_text() == "keep me" and not (out / "x.png").is_symlink()
    assert (out / "x.png").read_bytes() == b"new"


def test_frames_still_land_where_they_should(tmp_path: Path) -> None:
    graph, values = frames_output(3, "a/b/{frame:02}.png", animation="a/walk.gif")
    written = write_outputs(graph, values, tmp_path / "out")
    names = sorted(p.relative_to(tmp_path / "out").as_posix() for p in written)
    assert names == ["a/b/00.png", "a/b/01.png", "a/b/02.png", "a/walk.gif"]
    assert not [p for p in (tmp_path / "out").rglob("*") if p.name.startswith(".")]
    assert np.asarray(Image.open(written[0])).shape == (8, 8, 3)
