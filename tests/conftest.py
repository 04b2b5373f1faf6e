"""Shared pytest configuration."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import shutil  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def _tiny_model_files(tmp_path_factory) -> Path:
    """Tiny diffusion, GAN and VAE checkpoints, built once per session (runtime tests)."""
    from runtime_support import save_gan, save_unet, save_vae

    folder = tmp_path_factory.mktemp("tiny-models")
    save_unet(folder / "tiny.safetensors")
    save_gan(folder / "gan.safetensors")
    save_vae(folder / "vae.safetensors")
    return folder


@pytest.fixture
def tiny_dir(tmp_path, _tiny_model_files) -> Path:
    """A fresh folder holding tiny.safetensors, gan.safetensors and vae.safetensors."""
    for f in _tiny_model_files.iterdir():
        shutil.copy2(f, tmp_path / f.name)
    return tmp_path


def _one_torch_thread():
    """One torch thread while the fixture lives: tiny models run faster, and steadier on a shared
    CPU (a busy machine makes more threads far slower)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


one_thread = pytest.fixture(_one_torch_thread, name="one_thread")
one_thread_module = pytest.fixture(_one_torch_thread, scope="module", name="one_thread_module")


@pytest.fixture(autouse=True)
def _no_user_model_folders(monkeypatch):
    """The user's GENCODE_MODELS must not change what the tests' scripts resolve."""
    monkeypatch.delenv("GENCODE_MODELS", raising=False)
