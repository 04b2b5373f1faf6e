"""Model references for the front end: a model name or a checkpoint path → what it is and its
sha256, read from the safetensors header without torch.

A name is a built-in (shipped in gencode/weights/) or a model in a folder on the user's search
path, `GENCODE_MODELS` (folders separated like PATH): `model sd15` finds `sd15.safetensors` or a
diffusers folder `sd15/` there. The user, not the script, decides where models live, so a shared
script still reads no file outside its own folder except the models its reader chose to provide.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gencode.models.checkpoint import CheckpointError, file_sha256, read_info
from gencode.models.families import FAMILIES, GENERATORS

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"

MODELS_ENV = "GENCODE_MODELS"

# Built-in model name → checkpoint file shipped in gencode/weights/.
BUILTINS: dict[str, str] = {
    "scenes": "scenes.safetensors",
    "scenes32": "scenes32.safetensors",  # the earlier 32x32 pixel-space model: fast, small
    "faces": "faces-gan.safetensors",
    "faces_vae": "faces-vae.safetensors",
}


@dataclass(frozen=True)
class ModelRef:
    """A model as the checker and compiler see it: identity, family and what it knows."""

    name: str
    sha256: str
    family: str  # "diffusion" | "gan" | "vae"
    path: str = ""
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def vocabulary(self) -> tuple[str, ...]:
        return tuple(self.meta.get("vocabulary", ()))

    @property
    def attributes(self) -> tuple[str, ...]:
        return tuple(self.meta.get("attributes", ()))

    @property
    def size_multiple(self) -> int:
        return int(self.meta.get("size_multiple", 8))

    @property
    def native_sizes(self) -> tuple[int, ...]:
        """The square sizes the model was trained at (its checkpoint says), largest first."""
        sizes = self.meta.get("native_sizes") or (
            [self.meta["size"]] if "size" in self.meta else []
        )
        return tuple(sorted((int(s) for s in sizes if isinstance(s, int)), reverse=True))

    def default(self, setting: str) -> Any:
        """The model's default for a setting (steps, guidance, sampler, size), if it has one."""
        defaults = self.meta.get("defaults", {})
        if setting in defaults:
            return defaults[setting]
        return self.meta.get("size") if setting == "size" else self.meta.get(f"default_{setting}")

    def latent_shape(self, width: int, height: int) -> list[int]:
        """The shape of one latent: spatial for diffusion models, a vector for GANs and VAEs."""
        return FAMILIES[self.family].latent_shape(self.meta, width, height)

    def latent_of(self, size: Sequence[int]) -> tuple[int, ...]:
        """`gencode.ops.shapes.ShapeModel`: the latent of an image of `size` (width, height)."""
        return tuple(self.latent_shape(int(size[0]), int(size[1])))

    def image_of(self, latent: Sequence[int] | None) -> tuple[int, ...]:
        """`gencode.ops.shapes.ShapeModel`: the image a latent of this shape decodes to."""
        scale = int(self.meta.get("latent_scale", 1))
        if FAMILIES[self.family].latent == "spatial" and latent is not None and len(latent) >= 2:
            return (3, int(latent[-2]) * scale, int(latent[-1]) * scale)
        side = int(self.meta.get("size", 32))
        return (3, side, side)

    def as_param(self) -> dict[str, str]:
        return {"name": self.name, "sha256": self.sha256}


class ModelCatalog:
    """Resolves `model NAME` and `model "path"`; remembers what it has read."""

    def __init__(
        self,
        builtins: dict[str, str] | None = None,
        weights_dir: Path = WEIGHTS_DIR,
        search: list[Path] | None = None,
    ):
        self.builtins = dict(BUILTINS if builtins is None else builtins)
        self.weights_dir = weights_dir
        self.search = search_path() if search is None else list(search)
        self._refs: dict[str, ModelRef] = {}

    def names(self) -> list[str]:
        """Built-in names, then those found on the search path (a built-in name wins)."""
        return sorted(self.builtins) + sorted(set(self.found()) - set(self.builtins))

    def found(self) -> dict[str, Path]:
        """The models on the search path by name; an earlier folder wins, as in PATH."""
        out: dict[str, Path] = {}
        for folder in reversed(self.search):
            for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
                if _is_model(entry):
                    out[entry.name.removesuffix(".safetensors")] = entry
        return out

    def resolve(self, ref: str, base_dir: Path | None = None, builtin: bool = True) -> ModelRef:
        """The ModelRef for a model name (builtin=True) or a checkpoint path; KeyError for an
        unknown name, CheckpointError for a file that is unusable."""
        if builtin and ref in self.builtins:
            path = self.weights_dir / self.builtins[ref]
            if not path.exists():
                raise CheckpointError(
                    f"built-in model '{ref}' is not installed (missing {path.name})"
                )
        elif builtin:
            path = self._find(ref)
        else:
            path = Path(ref) if base_dir is None else (base_dir / ref)
        key = str(path.resolve())
        if key not in self._refs and path.is_dir():  # a diffusers folder (Stable Diffusion)
            from gencode.models.sd_folder import folder_ref

            self._refs[key] = folder_ref(path)
        if key not in self._refs:
            info = read_info(path)
            if info.family not in GENERATORS:
                raise CheckpointError(
                    f"{path.name}: a {info.family} model scores images and can't make them; "
                    f"'model' takes a {', '.join(GENERATORS[:-1])} or {GENERATORS[-1]} model"
                )
            self._refs[key] = ModelRef(
                ref if builtin else path.stem, file_sha256(path), info.family, str(path), info.meta
            )
        return self._refs[key]

    def _find(self, name: str) -> Path:
        """A model named `name` in the first search folder that has one."""
        for folder in self.search:
            for entry in (folder / f"{name}.safetensors", folder / name):
                if _is_model(entry):
                    return entry
        raise KeyError(name)


def search_path() -> list[Path]:
    """The folders named by GENCODE_MODELS, in order."""
    raw = os.environ.get(MODELS_ENV, "")
    return [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]


def _is_model(entry: Path) -> bool:
    """A safetensors checkpoint, or a diffusers folder (it has model_index.json)."""
    if entry.suffix == ".safetensors":
        return entry.is_file()
    return entry.is_dir() and (entry / "model_index.json").is_file()


class StaticCatalog(ModelCatalog):
    """A catalog of fixed ModelRefs (for tests and for tools that know their models)."""

    def __init__(self, refs: dict[str, ModelRef]):
        super().__init__(builtins={name: "" for name in refs}, search=[])
        self.refs = refs

    def resolve(self, ref: str, base_dir: Path | None = None, builtin: bool = True) -> ModelRef:
        if ref not in self.refs:
            raise KeyError(ref) if builtin else CheckpointError(f"{ref}: no such checkpoint file")
        return self.refs[ref]
