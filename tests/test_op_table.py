"""The op table's contract: every op has every part, nothing about an op lives outside its entry,
and a new image op is one table entry plus its implementation (the check, compile, cache,
budget, records and runtime need nothing else)."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import gencode
from gencode import render as R
from gencode.models.families import FAMILIES
from gencode.ops import shapes as S
from gencode.ops import table as TB
from gencode.ops.signatures import ANY_IMAGE, Arg, OpSignature
from gencode.runtime.registry import IMPLS

ROOT = Path(gencode.__file__).parent
DOCS = ROOT.parent / "docs" / "language.md"


@pytest.mark.parametrize("name", sorted(TB.OPS))
def test_every_op_has_every_part(name: str) -> None:
    op = TB.OPS[name]
    assert op.name == name and op.doc
    assert callable(op.shape) and op.version >= 1
    if op.impl is not None:
        assert callable(TB.resolve(op.impl)), f"{name}: {op.impl} does not resolve"
    if op.internal:
        assert op.rule is None, f"{name}: an internal op is made by the checker, not checked"
        assert op.impl is not None, f"{name}: an internal op must run"
        return
    assert op.signature is not None and op.signature.name == name
    args = {a.name for a in (*op.signature.positional, *op.signature.keywords)}
    if op.statement:  # save, audio: checked by the program checker, never a value
        assert op.impl is None and name in ("save", "audio")
    else:
        assert op.rule is not None and callable(TB.resolve(op.rule))
    assert set(op.framewise or ()) <= args, f"{name}: per-frame params it does not take"
    assert op.reads is None or op.reads in args


def test_the_runtime_runs_exactly_the_ops_the_table_implements() -> None:
    assert set(IMPLS) == {n for n, op in TB.OPS.items() if op.impl}
    assert set(TB.SIGNATURES) == {n for n, op in TB.OPS.items() if not op.internal}


def test_every_op_the_checker_makes_is_in_the_table() -> None:
    """A value the checker builds with an op missing from the table would lose its facts."""
    made = set()
    for path in (ROOT / "check").glob("*.py"):
        made |= set(re.findall(r'Node\(\s*"(\w+)"', path.read_text(encoding="utf-8")))
    assert made, "the scan found no values: the pattern no longer matches the checker"
    assert made <= set(TB.OPS), f"ops outside the table: {made - set(TB.OPS)}"


def test_every_op_a_script_writes_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = [n for n in TB.SIGNATURES if f"| `{n}` |" not in text]
    assert not missing, f"docs/language.md's op table lacks {missing}"


def test_no_op_name_is_special_cased_outside_the_table() -> None:
    """What an op reads, whether it generates, how it is cached: the table says, not an `if`."""
    pattern = re.compile(r'\.op\s*(==|!=|in)\s*\(?"(load|diffuse|sample|decode|stack)"')
    hits = [
        f"{p.relative_to(ROOT)}: {m.group(0)}"
        for p in ROOT.rglob("*.py")
        for m in pattern.finditer(p.read_text(encoding="utf-8"))
    ]
    assert not hits, hits


# ---- a new op, added the way a contributor would: one entry, one implementation ------------------


def _invert(ctx, node, inputs: list[torch.Tensor]) -> torch.Tensor:
    """Test implementation: mix an image with its negative by `amount` (frame by frame)."""
    x, k = inputs[0], node.params["amount"]
    k = torch.tensor(k, dtype=x.dtype).view(-1, 1, 1, 1) if isinstance(k, list) else k
    return x + (1 - 2 * x) * k


@pytest.fixture
def invert_op(monkeypatch):
    module = types.ModuleType("contrib.invert_op")
    module.invert = _invert  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "contrib.invert_op", module)
    sig = OpSignature(
        "invert",
        "an image's negative, partly",
        (Arg("image", ANY_IMAGE),),
        (Arg("amount", ("number", "schedule"), 1.0, 0, 1),),
    )
    op = TB.OpDef(
        "invert",
        sig.doc,
        shape=S.first,
        impl="contrib.invert_op:invert",
        signature=sig,
        rule=TB.CHECK + "rules:check_image_op",
        framewise=("amount",),
    )
    monkeypatch.setitem(TB.OPS, "invert", op)
    monkeypatch.setitem(TB.SIGNATURES, "invert", sig)
    return op


@pytest.mark.usefixtures("one_thread", "invert_op")
def test_a_new_image_op_is_one_table_entry_and_its_implementation(tiny_dir: Path) -> None:
    Image.new("RGB", (16, 16), (200, 40, 0)).save(tiny_dir / "red.png")
    script = tiny_dir / "invert.gen"
    script.write_text(
        'model "tiny.safetensors"\nsize 16\nx = load "red.png"\n'
        "invert x as still\ninvert x amount 0.5 as half\n"
        "invert (interpolate image x x 3) amount {0: 0, 2: 1} as seq\n",
        encoding="utf-8",
    )
    result = R.render(script, tiny_dir / "out")
    still = result.array("still").astype(int)
    assert np.abs(still[0, 0] - (255 - np.array([200, 40, 0]))).max() <= 1
    assert np.abs(result.array("half").astype(int) - 128).max() <= 1
    seq = result.array("seq").astype(int)  # cached frame by frame: the per-frame amount
    assert seq.shape[0] == 3 and np.abs(seq[0, 0, 0] - [200, 40, 0]).max() <= 1
    assert np.abs(seq[2, 0, 0] - [55, 215, 255]).max() <= 1


@pytest.mark.usefixtures("invert_op")
def test_a_new_op_is_checked_by_its_signature(tiny_dir: Path) -> None:
    from gencode.errors import GenError

    script = tiny_dir / "bad.gen"
    script.write_text('model "tiny.safetensors"\nx = load "nope.png"\ninvert x amount 2\n')
    with pytest.raises(GenError, match="no such image file"):
        R.load_script(script)
    script.write_text('model "tiny.safetensors"\ninvert (diffuse "dunes") amount 2\n')
    with pytest.raises(
        GenError, match=r"bad.gen:2:33: error: 'amount' must be between 0 and 1, got 2"
    ):
        R.load_script(script)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_every_model_family_has_every_part(name: str) -> None:
    import importlib

    family = FAMILIES[name]
    assert family.renders and family.trainers, name
    for ref in family.archs.values():
        assert callable(TB.resolve(ref)), f"{name}: loader {ref} does not resolve"
    for module in family.trainers.values():
        assert callable(importlib.import_module(module).train), f"{name}: {module} has no train"
    assert (family.latent is not None) == family.makes_images
    if family.makes_images:
        assert family.archs, f"{name}: `model` may name it but nothing loads it"


def test_output_formats_are_one_table() -> None:
    from gencode.outputs_paths import ANIMATION_FORMATS, FORMATS, STILL_FORMATS
    from gencode.runtime.outputs import still_options

    assert set(STILL_FORMATS) | set(ANIMATION_FORMATS) == set(FORMATS)
    for fmt in FORMATS.values():
        assert fmt.suffix.startswith(".") and fmt.kind in ("still", "animation") and fmt.slot
        if fmt.kind == "still":  # the writer's settings are the table's
            assert fmt.options.items() <= still_options(fmt.encoder, None).items()
    runtime = ROOT / "runtime"
    for module in ("outputs.py", "video.py"):  # the writers sit below provenance
        assert "from gencode.provenance" not in (runtime / module).read_text(encoding="utf-8")


def test_one_node_type_from_the_checker_to_the_runtime(tiny_dir: Path) -> None:
    """The checker's values and the graph's nodes are one type: the checker builds nodes with
    symbolic params and no key, compile lowers them at a frame into keyed nodes of the same type
    that keep where the script wrote them, and the graph refuses a node that was never lowered."""
    import gencode.ir as ir
    from gencode.graph import Graph, Node
    from gencode.ir import Sched

    assert not hasattr(ir, "Value")
    script = tiny_dir / "walk.gen"
    script.write_text(
        'model "tiny.safetensors"\nsize 16\na = noise seed 1\nb = noise seed 2\n'
        'diffuse "dunes" from (interpolate latent a b 4) guidance {0: 2, 3: 4}\n',
        encoding="utf-8",
    )
    loaded = R.load_script(script)
    checked = loaded.program.outputs[0].value
    assert type(checked) is Node and checked.key == "" and checked.op == "diffuse"
    assert isinstance(checked.params["guidance"], Sched)  # symbolic until compile
    lowered = loaded.graph.outputs[0].node
    assert type(lowered) is Node and len(lowered.key) == 64
    assert lowered.params["guidance"] == [2.0, 2.666667, 3.333333, 4.0]
    assert (lowered.span.line, lowered.span.column) == (checked.span.line, checked.span.column)
    assert lowered.span.line == 5
    with pytest.raises(ValueError, match="unlowered"):
        Graph().add(checked)
