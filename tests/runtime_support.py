"""Tiny random-weight models for runtime tests, saved as real checkpoints beside test scripts.

Weights come from a seeded generator (not the global RNG), and the UNet's output layer is not
zero, so prompts and guidance visibly change the pixels.
"""

from __future__ import annotations

from pathlib import Path

import torch

from gencode.models import gan
from gencode.models import vae as V
from gencode.models.checkpoint import save_checkpoint
from gencode.models.directions import to_tensors
from gencode.models.unet import UNet, UNetConfig

# A batch and its frames one by one (or two chunk sizes) run different GEMM blockings, whose float
# rounding differs by CPU (Intel, AMD) and grows over sampler steps: 1.8e-5 was seen on an AMD EPYC
# where 1e-5 was assumed. Results agree to this, on any x86-64 CPU; a wrong frame (another seed,
# guidance or strength) is off by 1e-2 or more. Bit-exact claims belong to one layout and threads.
LAYOUT_ATOL = 1e-3

VOCAB = ["dunes", "ocean", "night", "forest"]
UNET = UNetConfig(
    base_channels=8,
    channel_mults=(1, 2),
    emb_dim=16,
    vocab_size=len(VOCAB),
    groups=4,
    prediction="v",
)  # a random v-model still predicts images in range
GAN = {"latent_dim": 8, "size": 8, "hidden": [16, 32], "disc_hidden": [16]}
VAE = {"latent_dim": 4, "size": 16, "width": 8}


def _randomize(module: torch.nn.Module, seed: int) -> None:
    """Every parameter redrawn by a seeded generator: weights N(0, 1/fan_in), biases small."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _name, p in module.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            if p.ndim >= 2:  # conv / linear / embedding weights: unit-variance activations
                p.copy_(noise / max(p[0].numel(), 1) ** 0.5)
            else:  # biases, norm scales and the null condition
                p.copy_(noise * 0.1 + (1.0 if (p == 1).all() else 0.0))


def save_unet(path: Path, seed: int = 0, size: int = 16, steps: int = 4) -> Path:
    """A ~20k-parameter pixel UNet that knows four words; default size 16, 4 steps."""
    net = UNet(UNET)
    _randomize(net, seed)
    meta = {
        "vocabulary": VOCAB,
        "size_multiple": UNET.size_multiple,
        "defaults": {"size": size, "steps": steps},
        "prediction": "v",
    }
    save_checkpoint(path, net.state_dict(), "diffusion", "unet", UNET.to_dict(), meta)
    return path


def save_gan(path: Path, seed: int = 1) -> Path:
    """A tiny MLP GAN generator with one attribute direction, 'smile'."""
    g, _ = gan.build("mlp-gan", GAN)
    _randomize(g, seed)
    tensors = {f"generator.{k}": v for k, v in g.state_dict().items()}
    direction = torch.randn(GAN["latent_dim"], generator=torch.Generator().manual_seed(seed))
    tensors |= to_tensors({"smile": direction})
    meta = {"z_dim": GAN["latent_dim"], "attributes": ["smile"], "size_multiple": 8}
    save_checkpoint(path, tensors, "gan", "mlp-gan", GAN, meta)
    return path


def save_vae(path: Path, seed: int = 2) -> Path:
    """A tiny conv VAE (4-d latents, 16x16 images) with one attribute direction, 'blonde'."""
    m = V.VAE(V.make_config(VAE))
    _randomize(m, seed)
    tensors = {f"vae.{k}": v for k, v in m.state_dict().items()}
    direction = torch.randn(VAE["latent_dim"], generator=torch.Generator().manual_seed(seed))
    tensors |= to_tensors({"blonde": direction})
    meta = {
        "z_dim": VAE["latent_dim"],
        "attributes": ["blonde"],
        "size_multiple": 8,
        "defaults": {"size": 16},
    }
    save_checkpoint(path, tensors, "vae", "vae", VAE, meta)
    return path


def write_script(folder: Path, text: str, name: str = "sketch.gen") -> Path:
    """A script file in `folder` (models are expected beside it)."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def live_status(session) -> dict:
    """`GET /status` of a running `LiveSession`, as a tool or test reads it."""
    import http.client
    import json

    conn = http.client.HTTPConnection("127.0.0.1", session.server.port, timeout=10)
    conn.request("GET", "/status")
    data = json.loads(conn.getresponse().read())
    conn.close()
    return data
