"""Compile: checked program → op graph (content-keyed nodes, schedules expanded, outputs named).

Input: `gencode.ir.CheckedProgram`. Output: `gencode.graph.Graph`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from gencode import types as T
from gencode.check.frame_expr import FrameExpr, FrameExprError
from gencode.describe import descriptors
from gencode.errors import GenError
from gencode.graph import Graph, Node, Output
from gencode.ir import CheckedProgram, Sched
from gencode.models.catalog import ModelRef
from gencode.ops.table import GENERATORS, OPS

# The signals a frame reads: live values, or offline a function of the frame's time in seconds.
Signals = Mapping[str, float] | Callable[[float], Mapping[str, float]]


def compile_program(
    program: CheckedProgram,
    frame: float = 0,
    signals: Signals | None = None,
    pictures: dict[str, str | None] | None = None,
    keep: dict[int, Node] | None = None,
) -> Graph:
    """The graph of a checked program; identical values under the same settings share a node.

    A live stream compiles once per frame: single values take their schedules and frame
    expressions at `frame` with the live `signals` (or, offline, `signals(seconds)`: the values
    of a script's `audio` file at each frame's time); `pictures` names the content of each
    `picture` leaf (the stream's previous frame, by hash), so keys stay content keys. `keep`
    holds the nodes of values that are the same at every frame (no schedule, frame expression
    or picture upstream) across calls, so a stream re-keys only what its frame changes."""
    graph = Graph()
    memo: dict[int, Node] = {}
    at = Moment(frame, signals or {})
    varying: set[int] = set()

    def lower(top: Node) -> Node:
        # Post-order with an explicit stack: a chain of thousands of bindings needs no recursion,
        # and a value reached twice (x + x) is lowered once.
        stack: list[tuple[Node, bool]] = [(top, False)]
        while stack:
            v, ready = stack.pop()
            if id(v) in memo:
                continue
            if keep is not None and id(v) in keep:
                memo[id(v)] = _adopt(graph, keep[id(v)])
                continue
            if not ready:
                stack.append((v, True))
                stack.extend((i, False) for i in reversed(v.inputs) if id(i) not in memo)
                continue
            inputs = tuple(memo[id(i)] for i in v.inputs)
            if v.op == "mix" and "schedule" in v.params:
                params = _mix_params(v, at)
            else:
                params = {k: _param(x, v, at) for k, x in v.params.items()}
            if v.op == "picture":
                params["of"] = (pictures or {}).get(str(v.params["slot"]))
            memo[id(v)] = graph.add(Node.make(v.op, params, inputs, v.type, v.length, v.span))
            if _varies(v) or any(id(i) in varying for i in v.inputs):
                varying.add(id(v))
            elif keep is not None:
                keep[id(v)] = memo[id(v)]
        return memo[id(top)]

    taken: dict[str, int] = {}
    for out in program.outputs:
        node = lower(out.value)
        name = _unique(_base_name(out.name, node), taken)
        path, animation = out.path, None
        if path is None:
            seq = node.type == T.IMAGES
            path = f"{name}/{{frame:04}}.png" if seq else f"{name}.png"
            animation = f"{name}.gif" if seq else None
        told = descriptors(node)
        graph.outputs.append(
            Output(name, node, path, out.fps, animation, out.span.line, out.audio, told)
        )
    return graph


def _varies(v: Node) -> bool:
    """Whether a value's own params can differ from frame to frame (its inputs aside)."""
    return v.op == "picture" or any(isinstance(x, Sched | FrameExpr) for x in v.params.values())


def _adopt(graph: Graph, node: Node) -> Node:
    """A node kept from an earlier frame, added to this frame's graph after its upstream."""
    stack: list[tuple[Node, bool]] = [(node, False)]
    while stack:
        n, ready = stack.pop()
        if graph.has(n.key):
            continue
        if ready:
            graph.add(n)
        else:
            stack.append((n, True))
            stack.extend((i, False) for i in reversed(n.inputs) if not graph.has(i.key))
    return graph.add(node)


@dataclass(frozen=True)
class Moment:
    """Where single values take their schedules: a frame of the stream, and its live signals."""

    frame: float
    signals: Signals

    def value(self, x: Sched | FrameExpr, f: float | None = None) -> Any:
        frame = self.frame if f is None else f
        if not isinstance(x, FrameExpr):
            return x.at(frame)
        s = self.signals
        return x.at(frame, s(frame / x.fps) if callable(s) else s)


def _param(x: Any, v: Node, at: Moment) -> Any:
    """A param as plain JSON: model refs by name and hash, schedules per frame."""
    if isinstance(x, ModelRef):
        return x.as_param()
    if isinstance(x, Sched | FrameExpr):
        try:
            if not v.length:
                return float(at.value(x))
            return [round(float(at.value(x, f)), 6) for f in range(v.length)]
        except FrameExprError as e:
            raise GenError.at(x.span if isinstance(x, FrameExpr) else v.span, str(e)) from None
    if isinstance(x, float) and x.is_integer():
        return int(x)
    return x


def _mix_params(v: Node, moment: Moment) -> dict[str, Any]:
    """Per-frame weights over the schedule's distinct prompts (a cross-fade of conditionings)."""
    sched: Sched = v.params["schedule"]
    texts: list[str] = v.params["texts"]
    weights = []
    frames = range(v.length) if v.length else [moment.frame]
    for f in frames:
        at = sched.at(f)
        row = [0.0] * len(texts)
        if isinstance(at, tuple):
            a, b, w = at
            row[texts.index(a)] += round(1 - w, 6)
            row[texts.index(b)] += round(w, 6)
        else:
            row[texts.index(at)] = 1.0
        weights.append(row)
    return {"texts": texts, "weights": weights}


def _base_name(name: str | None, node: Node) -> str:
    """The binding's name, else the op (the source of a rendered latent) and the prompt's words."""
    if name:
        return name
    op = OPS[node.op].output_name or node.op
    if op in GENERATORS and node.inputs and node.inputs[0].op != "noise":
        op = node.inputs[0].op
    for n in _walk(node):
        if n.op == "prompt" and n.params.get("text"):
            return f"{op}-{_slug(n.params['text'])}"
    return op


def _walk(node: Node) -> Iterator[Node]:
    """The node and everything upstream, depth first, each node once (shared inputs are common:
    `x1 = x0 + x0` forty times over is 2^40 paths but 41 nodes)."""
    seen, stack = {node.key}, [node]
    while stack:
        n = stack.pop()
        yield n
        for i in reversed(n.inputs):
            if i.key not in seen:
                seen.add(i.key)
                stack.append(i)


def _slug(text: str) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", text.lower())[:4]) or "untitled"


def _unique(name: str, taken: dict[str, int]) -> str:
    taken[name] = taken.get(name, 0) + 1
    return name if taken[name] == 1 else f"{name}-{taken[name]}"
