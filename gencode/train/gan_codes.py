"""A GAN whose latent carries the dataset's labelled attributes: each attribute owns its own
coordinates of z, and the critic checks that the picture agrees with them.

Input: a procedural dataset's ATTRIBUTES table (faces: smile, hair, skin, glasses, eye size).
Output: `Codes`, which turns the first coordinates of a standard normal z into labels (and a
training image's true labels into the same vector), and `ProjectionCritic`, a critic that sees
an image together with its labels (Miyato & Koyama 2018, "cGANs with projection discriminator").

Why: an unconditional GAN mixes the attributes in its latent as training happens to, so a straight
edit that adds glasses may also grow the eyes (the first wave's 32 px faces GAN: 11.7% of faces). Here every
label is a function of its own coordinates of z, and the critic rejects a face whose glasses or
eyes disagree with them, so the generator learns to draw each attribute from its coordinates
alone. The generator and the runtime are unchanged: z is still standard normal, and
InterFaceGAN (gencode.train.edits) still finds each edit from judged faces.

How a coordinate reads (u = Φ(z_k), uniform on (0, 1) as the painter's draws are):
- continuous over [a, b]: the value a + (b − a)·u; in the label vector, 2u − 1;
- yes/no: yes when z_k > 0 (the painter's 50%); in the label vector, ±1;
- categorical with m values: the argmax of m coordinates (each value equally likely); one-hot.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn


class Codes:
    """The coordinates of z that carry each attribute, and the label vector the critic sees."""

    def __init__(self, attributes: Mapping[str, Mapping[str, Any]]) -> None:
        self.attributes = dict(attributes)
        self.slots: dict[str, slice] = {}
        k = 0
        for name, spec in self.attributes.items():
            width = len(spec["values"]) if spec["kind"] == "categorical" else 1
            self.slots[name] = slice(k, k + width)
            k += width
        self.dim = k  # coordinates of z taken, and the label vector's length

    def of_latents(self, z: torch.Tensor) -> torch.Tensor:
        """Label vectors (B, dim) that latents (B, >= dim) carry."""
        if z.shape[1] < self.dim:
            raise ValueError(f"a latent of {z.shape[1]} numbers cannot carry {self.dim} codes")
        parts = []
        for name, spec in self.attributes.items():
            c = z[:, self.slots[name]]
            if spec["kind"] == "categorical":
                parts.append(nn.functional.one_hot(c.argmax(1), c.shape[1]).to(z.dtype))
            elif spec["kind"] == "binary":
                parts.append(torch.where(c > 0, 1.0, -1.0).to(z.dtype))
            else:
                parts.append(torch.erf(c / math.sqrt(2)))  # 2Φ(c) − 1
        return torch.cat(parts, 1)

    def of_labels(self, labels: Sequence[Mapping[str, Any]]) -> torch.Tensor:
        """Label vectors (N, dim) of training images' true labels (the dataset's label dicts)."""
        rows = []
        for lab in labels:
            row: list[float] = []
            for name, spec in self.attributes.items():
                v = lab[name]
                if spec["kind"] == "categorical":
                    row += [1.0 if v == x else 0.0 for x in spec["values"]]
                elif spec["kind"] == "binary":
                    row.append(1.0 if v else -1.0)
                else:
                    lo, hi = spec["range"]
                    row.append(2 * (float(v) - lo) / (hi - lo) - 1)
            rows.append(row)
        return torch.tensor(rows, dtype=torch.float32)

    def describe(self) -> dict[str, list[int]]:
        """Which coordinates of z carry each attribute, for the checkpoint's meta."""
        return {n: list(range(s.start, s.stop)) for n, s in self.slots.items()}


class ProjectionCritic(nn.Module):
    """A convolutional critic with a projection head: logit = ψ(φ(x)) + ⟨V·y, φ(x)⟩, where φ is the
    critic's last feature map (flattened), ψ its own last layer and y the label vector; and an
    auxiliary head that reads the labels back from φ(x) (AC-GAN, Odena et al. 2017), trained on
    real faces only, so the generator can be held to the labels its z carries, level by level
    (the projection alone let a 64 px generator draw every eye behind glasses mid-sized)."""

    def __init__(self, critic: nn.Module, label_dim: int) -> None:
        super().__init__()
        layers = list(critic.net)  # DCDiscriminator: ... features, then Conv2d(c, 1, 4) to a logit
        self.body, self.head = nn.Sequential(*layers[:-1]), layers[-1]
        features = self.head.in_channels * self.head.kernel_size[0] * self.head.kernel_size[1]
        self.embed = nn.Linear(label_dim, features, bias=False)
        self.aux = nn.Linear(features, label_dim)
        nn.init.normal_(self.embed.weight, std=0.02)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.read(x, y)[0]

    def read(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logit (B,), the labels the critic reads in x (B, label_dim))."""
        h = self.body(x)  # (B, c, 4, 4)
        f = h.flatten(1)
        return self.head(h).flatten() + (self.embed(y) * f).sum(1), self.aux(f)
