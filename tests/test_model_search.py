"""Models by name from the user's folders (GENCODE_MODELS), beside the built-ins."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from runtime_support import write_script

from gencode.check import check_file
from gencode.cli.main import cli
from gencode.errors import GenError
from gencode.models.catalog import ModelCatalog
from gencode.models.checkpoint import file_sha256
from gencode.render import render


@pytest.fixture
def shelves(tiny_dir: Path, tmp_path: Path, monkeypatch) -> tuple[Path, Path]:
    """Two model folders on GENCODE_MODELS: `mine` is in both (the first one's wins)."""
    first, second = tmp_path / "models-a", tmp_path / "models-b"
    for folder in (first, second):
        folder.mkdir()
    shutil.copy(tiny_dir / "tiny.safetensors", first / "mine.safetensors")
    shutil.copy(tiny_dir / "gan.safetensors", second / "mine.safetensors")
    shutil.copy(tiny_dir / "gan.safetensors", second / "faces.safetensors")  # a built-in name
    (second / "sd-like").mkdir()
    (second / "sd-like" / "model_index.json").write_text("{}")
    (second / "notes").mkdir()  # a folder that is no model
    (second / "readme.txt").write_text("not a model")
    monkeypatch.setenv("GENCODE_MODELS", os.pathsep.join([str(first), str(second), "/nowhere"]))
    return first, second


def test_names_on_the_search_path(shelves: tuple[Path, Path]) -> None:
    first, _ = shelves
    catalog = ModelCatalog()
    assert catalog.names() == ["faces", "faces_vae", "scenes", "scenes32", "mine", "sd-like"]
    ref = catalog.resolve("mine")
    assert ref.name == "mine" and ref.path == str(first / "mine.safetensors")
    assert ref.family == "diffusion"  # the first folder's copy, not the second's GAN
    assert catalog.resolve("faces").path.endswith("faces-gan.safetensors")  # built-ins win


def test_a_script_elsewhere_renders_with_a_model_by_name(
    shelves: tuple[Path, Path], tmp_path: Path
) -> None:
    first, _ = shelves
    (tmp_path / "show").mkdir()
    script = write_script(tmp_path / "show", 'model mine\nseed 1\ndiffuse "dunes" steps 2\n')
    result = render(script, tmp_path / "out")
    assert result.array().shape[-1] == 3
    ran = result.graph.outputs[0].node
    assert ran.params["model"] == {
        "name": "mine",
        "sha256": file_sha256(first / "mine.safetensors"),
    }


def test_an_unknown_name_lists_what_is_known(shelves, tmp_path: Path) -> None:
    script = write_script(tmp_path, "model mien\nseed 1\n")
    with pytest.raises(GenError) as e:
        check_file(script)
    text = str(e.value)
    assert "did you mean 'mine'?" in text and "GENCODE_MODELS" in text


def test_gencode_models_lists_the_search_path(shelves: tuple[Path, Path]) -> None:
    first, _ = shelves
    res = CliRunner().invoke(cli, ["models", "--json"])
    assert res.exit_code == 0, res.output
    rows = {r["name"]: r for r in json.loads(res.output)}
    assert rows["mine"]["file"] == str(first / "mine.safetensors")
    assert rows["mine"]["source"] == str(first) and rows["scenes"]["source"] == "built-in"
