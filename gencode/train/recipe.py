"""Recipes: a TOML file → a frozen Recipe, with errors that name the file and the key at fault.

Relative paths in a recipe (dataset folder, output, run dir) are relative to the current directory,
so a recipe behaves the same whether it is built in or the user's own.
"""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "recipes"


class RecipeError(Exception):
    """A recipe that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Recipe:
    """Everything a training run needs; reproducible from this and the code version."""

    name: str
    family: str  # "diffusion" | "gan" | "vae" | "classifier"
    arch: str  # e.g. "unet"
    dataset: str  # a procedural dataset name, or a folder of images
    model: dict[str, Any] = field(default_factory=dict)  # the architecture's config
    size: int = 32
    steps: int = 1000
    batch: int = 32
    lr: float = 2e-4
    warmup: int = 200  # linear lr warm-up steps: AdamW's first steps are noisy without it
    lr_decay: str = "cosine"  # "cosine" (to 10% at the last step) or "none"
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    prompt_dropout: float = 0.1  # share of captions replaced by the empty prompt, for CFG
    seed: int = 0
    checkpoint_every: int = 500
    log_every: int = 50
    threads: int = 0  # torch threads; 0 leaves torch's default
    autocast_bf16: bool = False
    output: str = ""  # final checkpoint path; "" → <run_dir>/<name>.safetensors
    install: str = ""  # file name in gencode/weights/ that `gencode train --install` writes
    run_dir: str = ""  # resumable state and logs; "" → runs/<name>
    options: dict[str, Any] = field(
        default_factory=dict
    )  # the family's own table, e.g. [diffusion]
    source: str = ""  # the file it was read from

    @property
    def run_path(self) -> Path:
        return Path(self.run_dir or f"runs/{self.name}")

    @property
    def output_path(self) -> Path:
        return Path(self.output) if self.output else self.run_path / f"{self.name}.safetensors"

    def with_overrides(self, **changes: Any) -> Recipe:
        """A copy with some fields changed (None values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


_TYPES: dict[str, type | tuple[type, ...]] = {
    "str": str,
    "int": int,
    "float": (int, float),
    "bool": bool,
    "dict[str, Any]": dict,
}
_REQUIRED = ("name", "family", "arch", "dataset")
_POSITIVE = ("size", "steps", "batch", "checkpoint_every", "log_every")


def _check_type(src: str, key: str, value: Any, type_name: str) -> Any:
    """The value if it has the declared type (ints accepted for floats), else a RecipeError."""
    bool_as_number = isinstance(value, bool) and type_name != "bool"  # TOML true is not 1
    ok = isinstance(value, _TYPES[type_name]) and not bool_as_number
    if not ok:
        raise RecipeError(f"{src}: key '{key}': expected {type_name}, got {value!r}")
    return float(value) if type_name == "float" else value


def _unknown(src: str, key: str, known: list[str]) -> RecipeError:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" — did you mean '{close[0]}'?" if close else ""
    return RecipeError(f"{src}: unknown key '{key}'{hint}")


def from_dict(doc: dict[str, Any], source: str = "<recipe>") -> Recipe:
    """A Recipe from a parsed TOML document, validating every key."""
    types = {f.name: str(f.type) for f in fields(Recipe) if f.name not in ("options", "source")}
    family = doc.get("family")
    values: dict[str, Any] = {"source": source}
    for key, value in doc.items():
        if key == family and isinstance(value, dict):
            values["options"] = dict(value)
        elif key not in types:
            raise _unknown(source, key, [*types, str(family)])
        else:
            values[key] = _check_type(source, key, value, types[key])
    for key in _REQUIRED:
        if key not in values:
            raise RecipeError(f"{source}: missing required key '{key}'")
    for key in _POSITIVE:
        if key in values and values[key] <= 0:
            raise RecipeError(f"{source}: key '{key}': must be positive, got {values[key]}")
    if not 0.0 <= values.get("prompt_dropout", 0.1) < 1.0:
        raise RecipeError(f"{source}: key 'prompt_dropout': must be in [0, 1)")
    if not 0.0 <= values.get("ema_decay", 0.999) < 1.0:
        raise RecipeError(f"{source}: key 'ema_decay': must be in [0, 1)")
    if values.get("lr_decay", "cosine") not in ("cosine", "none"):
        raise RecipeError(f"{source}: key 'lr_decay': expected 'cosine' or 'none'")
    _outside_package(source, values.get("output", ""))
    return Recipe(**values)


def _outside_package(source: str, output: str) -> None:
    """Training never writes into the installed package: a half-trained model would be shipped."""
    from gencode.models.catalog import WEIGHTS_DIR

    if output and Path(output).resolve().is_relative_to(WEIGHTS_DIR.resolve()):
        raise RecipeError(
            f"{source}: key 'output': {output} is inside gencode's own weights folder; recipes "
            "write to their run folder, and `gencode train RECIPE --install` copies a finished "
            "checkpoint into the package"
        )


def install(recipe: Recipe) -> Path:
    """Copy a finished run's checkpoint into gencode/weights/ as the recipe's `install` name."""
    import shutil

    from gencode.models.catalog import WEIGHTS_DIR
    from gencode.models.checkpoint import read_info

    if not recipe.install or Path(recipe.install).name != recipe.install:
        raise RecipeError(
            f"{recipe.source}: no 'install' file name (e.g. install = \"x.safetensors\")"
        )
    read_info(recipe.output_path)  # a missing or corrupt checkpoint is refused before copying
    target = WEIGHTS_DIR / recipe.install
    tmp = target.with_name(f".{target.name}.installing")
    shutil.copyfile(recipe.output_path, tmp)
    tmp.replace(target)
    return target


def resolve(name_or_path: str | Path) -> Path:
    """The file of a recipe given as a path or as a built-in name (e.g. "scenes")."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        if not p.exists():
            raise RecipeError(f"{p}: no such recipe file")
        return p
    builtin = BUILTIN_DIR / f"{name_or_path}.toml"
    if builtin.exists():
        return builtin
    known = ", ".join(sorted(q.stem for q in BUILTIN_DIR.glob("*.toml")))
    raise RecipeError(
        f"no recipe file or built-in recipe named {str(name_or_path)!r}; built-in: {known}"
    )


def load(name_or_path: str | Path) -> Recipe:
    """Read and validate a recipe (a path or a built-in name)."""
    path = resolve(name_or_path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise RecipeError(f"{path}: not valid TOML ({e})") from None
    return from_dict(doc, str(path))
