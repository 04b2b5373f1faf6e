"""Frame keys: a content key per frame of a frame-by-frame sequence op, for frame-level caching.

Input: graph nodes. Output: one key per frame, and the node restricted to some frames. Editing a
schedule so that one of 24 frames changes then re-renders that frame alone: frame f's key hashes
only what frame f depends on (its inputs' frame f, the params' value at f, f itself where the op
draws noise by frame number).
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from gencode.graph import Node, node_key
from gencode.ops.table import OPS


def is_framewise(node: Node) -> bool:
    """Whether a node is a sequence computed frame by frame (so cached frame by frame)."""
    return node.length is not None and OPS[node.op].framewise is not None


class FrameKeys:
    """Frame keys of nodes, memoised per graph walk."""

    def __init__(self) -> None:
        self._memo: dict[str, list[str]] = {}

    def of(self, node: Node) -> list[str]:
        """The keys of a sequence node's frames."""
        if node.key not in self._memo:
            self._memo[node.key] = self._compute(node)
        return self._memo[node.key]

    def _input_key(self, node: Node, f: int) -> str:
        return self.of(node)[f] if node.length is not None else node.key

    def _compute(self, node: Node) -> list[str]:
        n = int(node.length or 1)
        if not is_framewise(node):
            return [_hash(f"{node.key}#{f}") for f in range(n)]
        op = OPS[node.op]
        return [
            node_key(
                node.op,
                _at_frame(node.params, op.framewise or (), f),
                [self._input_key(i, f) for i in node.inputs],
                f if op.indexed else None,
            )
            for f in range(n)
        ]


def _at_frame(params: dict[str, Any], per_frame: tuple[str, ...], f: int) -> dict[str, Any]:
    """A frame-by-frame node's params at frame f: each per-frame list taken at f."""
    return {k: (v[f] if k in per_frame and isinstance(v, list) else v) for k, v in params.items()}


def subset(node: Node, positions: list[int]) -> Node:
    """The node restricted to some of its frames: per-frame params and sequence inputs sliced."""
    per_frame = OPS[node.op].framewise or ()
    params = {
        k: ([v[i] for i in positions] if k in per_frame and isinstance(v, list) else v)
        for k, v in node.params.items()
    }
    frames = node.frames or tuple(range(int(node.length or 1)))
    inputs = tuple(
        dataclasses.replace(i, length=len(positions)) if i.length is not None else i
        for i in node.inputs
    )
    key = _hash(f"{node.key}@{','.join(map(str, positions))}")
    return dataclasses.replace(
        node,
        params=params,
        inputs=inputs,
        length=len(positions),
        key=key,
        frames=tuple(frames[i] for i in positions),
    )


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
