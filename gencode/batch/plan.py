"""Planning a batch: `--seeds 0-99` and `--sweep NAME=a,b` → items with deterministic names.

Each item is one combination (seed × sweep values) and renders into its own folder, named from
its values (`seed-0007_subject-ocean`), so a re-run finds the same names and skips what is done.
How a seed reaches the script: through the param its `seed` statement uses (`param base = 0`
then `seed base`), or, for a script that sets no seed at all, a `seed N;` put before line 1.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from gencode import ast
from gencode.limits import MAX_BATCH_ITEMS
from gencode.parse import parse
from gencode.seeds import SEED_MAX


class PlanError(Exception):
    """Bad `--seeds` or `--sweep` values, or a script they can't vary."""


@dataclass(frozen=True)
class Item:
    """One combination to render: its folder name, seed and the `--set` values it adds."""

    name: str
    seed: int | None
    sweep: dict[str, str] = field(default_factory=dict)


def parse_seeds(text: str) -> list[int]:
    """`0-9,20,30-31` → [0, ..., 9, 20, 30, 31] (order kept, repeats dropped)."""
    seeds: list[int] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        m = re.fullmatch(r"(\d+)(?:\s*(?:-|\.\.)\s*(\d+))?", part)
        if m is None:
            raise PlanError(f"--seeds: '{part}' is not a seed or a range like 0-99")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi < lo:
            raise PlanError(f"--seeds: the range '{part}' runs backwards")
        if hi > SEED_MAX:
            raise PlanError(f"--seeds: {hi} is larger than a seed can be ({SEED_MAX})")
        if len(seeds) + hi - lo + 1 > MAX_BATCH_ITEMS:  # counted before any list is built
            raise PlanError(f"--seeds: more than {MAX_BATCH_ITEMS:,} seeds in one batch")
        seeds.extend(range(lo, hi + 1))
    if not seeds:
        raise PlanError("--seeds: no seeds given")
    return list(dict.fromkeys(seeds))


def parse_sweep(text: str) -> tuple[str, list[str]]:
    """`NAME=v1,v2` → ("NAME", ["v1", "v2"])."""
    name, eq, values = text.partition("=")
    name = name.strip()
    if not eq or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise PlanError(f"--sweep: '{text}' is not NAME=value1,value2,...")
    items = [v.strip() for v in values.split(",")]
    if not any(items):
        raise PlanError(f"--sweep {name}: no values")
    return name, list(dict.fromkeys(items))


def slug(value: str) -> str:
    """A value as a file-name part: lowercase letters, digits, '.' and '-'."""
    return re.sub(r"[^a-z0-9.]+", "-", value.lower()).strip("-.")[:40] or "x"


def _value_names(values: list[str]) -> dict[str, str]:
    """Each value's name part; values whose slugs collide get a short hash to tell them apart."""
    slugs = [slug(v) for v in values]
    return {
        v: s if slugs.count(s) == 1 else f"{s}-{hashlib.sha256(v.encode()).hexdigest()[:6]}"
        for v, s in zip(values, slugs, strict=True)
    }


def plan(seeds: list[int] | None, sweeps: list[tuple[str, list[str]]]) -> list[Item]:
    """Every combination of seeds and sweep values, in a stable order."""
    names = [_value_names(values) for _, values in sweeps]
    count = len(seeds or [None]) * math.prod(len(values) for _, values in sweeps)
    if count > MAX_BATCH_ITEMS:
        raise PlanError(f"{count:,} combinations: a batch holds at most {MAX_BATCH_ITEMS:,}")
    items = []
    for seed in seeds if seeds else [None]:
        for combo in itertools.product(*(values for _, values in sweeps)):
            parts = [f"seed-{seed:04d}"] if seed is not None else []
            parts += [f"{n}-{names[i][v]}" for i, ((n, _), v) in enumerate(zip(sweeps, combo, strict=True))]  # fmt: skip
            sweep = {n: v for (n, _), v in zip(sweeps, combo, strict=True)}
            items.append(Item("_".join(parts) or "default", seed, sweep))
    return items


# ---- how a seed reaches the script -------------------------------------------------------------


def _names(node: Any) -> set[str]:
    """Every name an expression mentions."""
    if isinstance(node, ast.Name):
        return {node.id}
    found: set[str] = set()
    if is_dataclass(node):
        for f in fields(node):
            found |= _names(getattr(node, f.name))
    elif isinstance(node, tuple):
        for x in node:
            found |= _names(x)
    return found


def seed_param(text: str, filename: str) -> str | None:
    """The param the script's `seed` statement uses; None when it sets no seed at all."""
    program = parse(text, filename)
    params = {s.name.id for s in program.statements if isinstance(s, ast.Param)}
    settings = [s for s in program.statements if isinstance(s, ast.Setting) and s.name == "seed"]
    for s in settings:
        if used := sorted(_names(s.value) & params):
            return used[0]
    if settings:
        raise PlanError(
            f"{filename} sets its own seed, so --seeds can't vary it: make it a param, "
            "e.g. `param base = 0` and `seed base` (or name one with --seed-param)"
        )
    return None
