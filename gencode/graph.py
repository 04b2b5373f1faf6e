"""The op graph: the one node type `(op, type, params, inputs)`, its content key, and printers.

A node's key hashes its op, the op's implementation version, its params (seeds and model
hashes included) and its inputs' keys, so identical subexpressions share one node and an
edit changes exactly the keys downstream of it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from gencode.ops.table import op_version
from gencode.source import NOSPAN, Span


def canonical(obj: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, floats as Python writes them."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def node_key(op: str, params: dict[str, Any], inputs: list[str], frame: int | None = None) -> str:
    """The content key of a value: its op and the op's version, its params, its inputs' keys, and
    (a frame of a sequence whose op draws noise by frame number) that frame. The one key
    function: whole nodes and single frames are keyed alike."""
    doc: dict[str, Any] = {"op": op, "v": op_version(op), "params": params, "inputs": inputs}
    if frame is not None:
        doc["frame"] = frame
    return hashlib.sha256(canonical(doc).encode()).hexdigest()


@dataclass(frozen=True, eq=False)
class Node:
    """The one node type, from the checker to the runtime (the shape of tinygrad's UOp): an op
    applied to params and input nodes, with its result's type and, for sequences, length.

    The checker builds nodes whose params may still be symbolic (a schedule, a frame expression,
    a model reference) and which carry no key; `compile` lowers them at a frame into keyed nodes of
    the same type, params as plain JSON, which the runtime executes and caches by key. `span` is
    where the script wrote the value, so an error at any stage can name the line."""

    op: str
    type: str
    params: dict[str, Any]
    inputs: tuple[Node, ...] = ()
    length: int | None = None  # number of frames, for sequence types
    span: Span = NOSPAN
    key: str = ""  # the content key; "" while the params are symbolic (before compile)
    # Which frames of its sequence this node computes, when only some run (the executor's
    # restriction of a frame-by-frame node to its uncached frames); None: all of them.
    frames: tuple[int, ...] | None = None

    @classmethod
    def make(
        cls,
        op: str,
        params: dict[str, Any],
        inputs: tuple[Node, ...],
        type: str,
        length: int | None = None,
        span: Span = NOSPAN,
    ) -> Node:
        """A keyed node: params are plain JSON and every input is keyed."""
        key = node_key(op, params, [i.key for i in inputs])
        return cls(op, type, params, inputs, length, span, key)


@dataclass(frozen=True)
class Output:
    """An output of the script: a node written to `path` (a pattern for frames)."""

    name: str
    node: Node
    path: str
    fps: float
    animation: str | None = None  # a .gif/.mp4 path written beside a sequence's frames
    line: int = 0
    audio: str | None = None  # a soundtrack muxed into an .mp4, relative to the script's folder
    # What made each frame (one entry for a still), told by compile: see `gencode.describe`.
    generation: tuple[dict[str, Any], ...] = ()


@dataclass
class Graph:
    nodes: list[Node] = field(default_factory=list)  # topological order
    outputs: list[Output] = field(default_factory=list)
    _by_key: dict[str, Node] = field(default_factory=dict, repr=False)

    def has(self, key: str) -> bool:
        return key in self._by_key

    def add(self, node: Node) -> Node:
        """The graph's node with this key: identical subexpressions become one node."""
        if not node.key:
            raise ValueError(f"a {node.op} node with symbolic params reached the graph unlowered")
        if node.key not in self._by_key:
            self._by_key[node.key] = node
            self.nodes.append(node)
        return self._by_key[node.key]

    def ids(self) -> dict[str, int]:
        return {n.key: i for i, n in enumerate(self.nodes)}

    # ---- printers ----------------------------------------------------------------------------

    def to_text(self) -> str:
        """Readable SSA: one line per node (shared nodes appear once), then the outputs."""
        ids = self.ids()
        lines = []
        for i, n in enumerate(self.nodes):
            args = [f"%{ids[x.key]}" for x in n.inputs] + [
                f"{k}={_short(v)}" for k, v in sorted(n.params.items())
            ]
            shape = f"{n.type}[{n.length}]" if n.length else n.type
            lines.append(f"%{i} = {n.op} {' '.join(args)}  : {shape}  # {n.key[:10]}")
        for o in self.outputs:
            extra = f" + {o.animation}" if o.animation else ""
            extra += f" with audio {o.audio}" if o.audio else ""
            lines.append(f"out {o.name}: %{ids[o.node.key]} -> {o.path}{extra}")
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict[str, Any]:
        ids = self.ids()
        return {
            "nodes": [
                {
                    "id": ids[n.key],
                    "op": n.op,
                    "params": n.params,
                    "inputs": [ids[x.key] for x in n.inputs],
                    "key": n.key,
                    "type": n.type,
                    "length": n.length,
                }
                for n in self.nodes
            ],
            "outputs": [
                {
                    "name": o.name,
                    "node": ids[o.node.key],
                    "path": o.path,
                    "fps": o.fps,
                    "animation": o.animation,
                    "audio": o.audio,
                }
                for o in self.outputs
            ],
        }

    def to_dot(self) -> str:
        ids = self.ids()
        out = ["digraph gencode {", "  rankdir=LR;", '  node [shape=box, fontname="monospace"];']
        for n in self.nodes:
            label = (
                n.op
                + "\\n"
                + "\\n".join(
                    f"{k}={_short(v, 24)}".replace('"', '\\"') for k, v in sorted(n.params.items())
                )
            )
            out.append(f'  n{ids[n.key]} [label="{label}"];')
            out.extend(f"  n{ids[x.key]} -> n{ids[n.key]};" for x in n.inputs)
        for j, o in enumerate(self.outputs):
            out.append(f'  o{j} [shape=note, label="{o.path}"];')
            out.append(f"  n{ids[o.node.key]} -> o{j};")
        out.append("}")
        return "\n".join(out) + "\n"


def _short(v: Any, limit: int = 60) -> str:
    """A param value for printing: model refs as name@sha8, long lists elided."""
    if isinstance(v, dict) and "sha256" in v and "name" in v:
        return f"{v['name']}@{v['sha256'][:8]}"
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    text = canonical(v)
    if isinstance(v, list) and len(text) > limit:
        text = f"[{canonical(v[0])},...×{len(v)}]"
    return text if len(text) <= limit else text[: limit - 1] + "…"
