"""Generation descriptors: a graph output → what made each of its frames, told by compile.

Input: an output's graph node. Output: one descriptor per frame (one for a still): the model and
its hash, prompt, negative, seed, sampler, steps, guidance, eta, strength and mode of the node
that generated that frame, with every per-frame schedule taken at that frame. Compile attaches
these to each `Output`; provenance formats them and derives nothing from the graph itself.

The frame's generator is found by each op's own shape: a generator (`diffuse`, `sample`,
`decode`) describes itself at the frame; a `stack` (an animation's frames) hands frame f to its
input f; a frame-by-frame op hands frame f to its sequence input; an image op on stills names
the nearest generator upstream. An animation's in-between (cadence) frame is a blend of two
diffused frames: it carries the earlier one's settings, mode "cadence" and both frame numbers.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from gencode.graph import Node, canonical
from gencode.ops.signatures import EASE_CURVES
from gencode.ops.table import GENERATORS, describes, files_read

FIELDS = (
    "model", "prompt", "negative", "seed", "sampler", "steps", "guidance", "eta", "strength", "mode",
)  # fmt: skip


def descriptors(node: Node) -> tuple[dict[str, Any], ...]:
    """One descriptor per frame of `node` (one for a still)."""
    whole = _subgraph(node)
    if node.length is None:
        return ({**_frame(node, None), **whole},)
    return tuple({**_frame(node, f), **whole} for f in range(node.length))


def upstream(node: Node) -> list[Node]:
    """The node and everything it depends on, inputs first, each once."""
    seen: dict[str, Node] = {}
    stack: list[tuple[Node, bool]] = [(node, False)]
    while stack:  # iterative: long chains need no deep recursion
        n, expanded = stack.pop()
        if n.key in seen:
            continue
        if expanded:
            seen[n.key] = n
            continue
        stack.append((n, True))
        stack.extend((i, False) for i in reversed(n.inputs) if i.key not in seen)
    return list(seen.values())


def _subgraph(node: Node) -> dict[str, Any]:
    """Whole-output facts: every seed, model and loaded file the output depends on."""
    nodes = upstream(node)
    seeds = list(
        dict.fromkeys(n.params["seed"] for n in nodes if isinstance(n.params.get("seed"), int))
    )
    models = {canonical(m): m for n in nodes if isinstance(m := n.params.get("model"), dict)}
    loads = [{"file": f, "sha256": sha} for n in nodes for f, sha in files_read(n.op, n.params)]
    return {"seeds": seeds, "models": list(models.values()), "inputs": loads}


def _frame(node: Node, f: int | None) -> dict[str, Any]:
    """The descriptor of frame f of `node` (f None: the node is a still)."""
    if node.op in GENERATORS:
        return _generator(node, f)
    if describes(node.op) == "frames" and f is not None:
        return _stacked(node, f)
    seq = next((i for i in node.inputs if i.length is not None), None)
    if f is not None and seq is not None and seq.length == node.length:
        return _frame(seq, f)
    gen = _nearest(node)
    if gen is None:
        return dict.fromkeys(FIELDS)
    return _frame(gen, None) if gen.length is None else _frame(gen, 0)


def _stacked(stack: Node, f: int) -> dict[str, Any]:
    """Frame f of a stack: its own input, or (an in-between frame) the keyframes it blends."""
    frame = stack.inputs[f]
    if frame.op in GENERATORS or _nearest(frame) is None:
        return _frame(frame, None)
    position = {n.key: i for i, n in enumerate(stack.inputs)}
    keys = sorted({position[g.key] for g in upstream(frame) if g.key in position} - {f})
    if not keys:
        return _frame(frame, None)
    base = _frame(stack.inputs[keys[0]], None)
    return {**base, "mode": "cadence", "cadence": {"between": [keys[0], keys[-1]]}}


def _generator(node: Node, f: int | None) -> dict[str, Any]:
    """A generator's own settings at frame f."""
    p = node.params
    desc: dict[str, Any] = dict.fromkeys(FIELDS)
    desc["model"] = p.get("model")
    desc["seed"] = p.get("seed", _noise_seed(node, f))
    if describes(node.op) != "sampler":
        desc["mode"] = node.op
        return desc
    desc |= {
        "prompt": prompt_text(node.inputs[1], f) if len(node.inputs) > 1 else None,
        "negative": prompt_text(node.inputs[2], f) if len(node.inputs) > 2 else None,
        "sampler": p.get("sampler"),
        "steps": p.get("steps"),
        "guidance": _at(p.get("guidance"), node, f),
        "eta": p.get("eta"),
        "strength": _at(p.get("strength"), node, f),
        "mode": p.get("mode"),
    }
    return desc


def _noise_seed(node: Node, f: int | None) -> int | None:
    """The seed of the noise a GAN/VAE generator decodes (its latent input's), when one is."""
    for n in upstream(node):
        if n.op == "noise" and isinstance(n.params.get("seed"), int):
            return n.params["seed"]
    return None


def _at(value: Any, node: Node, f: int | None) -> Any:
    """A per-frame param (a keyframed guidance) at frame f."""
    if isinstance(value, list) and f is not None and node.length == len(value):
        return value[f]
    return value


def prompt_text(cond: Node, f: int | None) -> str | None:
    """A conditioning node as prompt text: a mix of prompts in A1111's `a :w AND b :w` form."""
    if cond.op == "prompt":
        return str(cond.params.get("text", ""))
    if cond.op == "interpolate" and cond.params.get("mode") == "prompt":
        return _between_prompts(cond, f)
    texts, weights = cond.params.get("texts"), cond.params.get("weights")
    if cond.op != "mix" or not isinstance(texts, list):
        return None
    if isinstance(weights, list) and f is None and len(weights) == 1:
        f = 0  # a still's cross-fade (an animation frame between two scheduled prompts)
    if isinstance(weights, list) and f is not None and f < len(weights):
        parts = [f"{t} :{w:g}" for t, w in zip(texts, weights[f], strict=False) if w]
        return parts[0].rsplit(" :", 1)[0] if len(parts) == 1 else " AND ".join(parts)
    return " → ".join(texts)


def _between_prompts(cond: Node, f: int | None) -> str | None:
    """Frame f of `interpolate prompt a b N`: the two prompts at their eased weights."""
    a, b = (prompt_text(i, None) for i in cond.inputs)
    n = int(cond.params.get("frames", 1))
    if f is None or n < 2:
        return a
    t = EASE_CURVES[str(cond.params.get("ease", "linear"))](f / (n - 1), math.cos)
    t = round(min(max(t, 0.0), 1.0), 6)
    parts = [f"{p} :{w:g}" for p, w in ((a, round(1 - t, 6)), (b, t)) if w]
    return parts[0].rsplit(" :", 1)[0] if len(parts) == 1 else " AND ".join(parts)


def _nearest(node: Node) -> Node | None:
    """The closest generator upstream (breadth first); each node is visited once, since shared
    inputs (`blend i i`) would otherwise double the queue at every level."""
    queue, seen = deque([node]), {node.key}
    while queue:
        n = queue.popleft()
        if n.op in GENERATORS:
            return n
        for i in n.inputs:
            if i.key not in seen:
                seen.add(i.key)
                queue.append(i)
    return None
