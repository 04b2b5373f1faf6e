"""Reading records as untrusted input: record JSON text → a validated record dict, or a RecordError.

A record arrives in a file anyone can edit, so it is parsed and validated once, here, before
`inspect`, `verify` or `reproduce` look at a field: the JSON has a bounded size and depth, and
its fields have the types and ranges gencode writes (JSON Schema, checked with `jsonschema`).
Fields a newer gencode adds are allowed; the fields readers use must be well formed.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

MAX_RECORD_BYTES = 8 << 20  # a record holds a script; 8 MiB is far beyond any real one
MAX_DEPTH = 32  # gencode's records nest 4 deep; JSON nested deeper is hostile

_SHA = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
_INT = {"type": "integer"}
_NAT = {"type": "integer", "minimum": 0}
_STR = {"type": "string"}
_OPT_STR = {"type": ["string", "null"]}
_NUM = {"type": "number"}
_MODEL = {"type": "object", "required": ["name", "sha256"], "properties": {"name": _STR, "sha256": _STR}}  # fmt: skip

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["schema", "pixels"],
    "properties": {
        "schema": {"type": "string", "pattern": "^gencode\\.record/"},
        "created": _STR,
        "pixels": {
            "type": "object",
            "required": ["sha256", "shape"],
            "properties": {
                "sha256": _SHA,
                "shape": {"type": "array", "items": _NAT, "minItems": 3, "maxItems": 4},
            },  # fmt: skip
        },
        "script": {
            "type": "object",
            "required": ["file", "sha256", "source"],
            "properties": {
                "file": _STR,
                "sha256": _STR,
                "source": _STR,
                "sets": {"type": "object", "additionalProperties": _STR},
                "params": {"type": "object"},
                "includes": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["file", "sha256"],
                        "properties": {"file": _STR, "sha256": _STR},
                    },
                },  # fmt: skip
            },
        },
        "output": {
            "type": "object",
            "required": ["file", "node"],
            "properties": {
                "name": _STR,
                "file": _STR,
                "node": _STR,
                "frame": {"type": ["integer", "null"], "minimum": 0},
                "frames": {"type": "integer", "minimum": 1},
                "fps": {"type": "number", "exclusiveMinimum": 0, "maximum": 1000},
                "audio": _OPT_STR,
            },
            "dependentRequired": {"frames": ["fps"]},
        },
        "tiles": {
            "type": "array",
            "items": {"type": "object", "required": ["file"], "properties": {"file": _STR}},
        },  # fmt: skip
        "seed": {"type": ["integer", "null"]},
        "seeds": {"type": "array", "items": _INT},
        "model": {"anyOf": [{"type": "null"}, _MODEL]},
        "models": {"type": "array", "items": _MODEL},
        "inputs": {"type": "array", "items": {"type": "object", "required": ["file", "sha256"]}},
        "prompt": _OPT_STR,
        "negative": _OPT_STR,
        "sampler": _OPT_STR,
        "steps": {"type": ["integer", "null"]},
        "guidance": {"anyOf": [{"type": "null"}, _NUM, {"type": "array", "items": _NUM}]},
        "strength": {"type": ["number", "null"]},
        "size": {"type": "array", "items": _NAT, "minItems": 2, "maxItems": 2},
        "environment": {"type": "object"},
        "batch": {
            "type": "object",
            "properties": {
                "item": _STR,
                "seed": {"type": ["integer", "null"]},
                "sweep": {"type": "object"},
            },
        },  # fmt: skip
        "signature": {"type": "object"},
    },
    # A render record says how it was made; a contact sheet says which files it tiles.
    "anyOf": [{"required": ["script", "output"]}, {"required": ["tiles"]}],
}


class RecordError(Exception):
    """A record that is not well-formed JSON of gencode's record schema."""


@cache
def _validator() -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(SCHEMA)


def _depth(obj: Any) -> int:
    """How deeply `obj` nests (iterative: a hostile depth costs no recursion)."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        o, d = stack.pop()
        deepest = max(deepest, d)
        if isinstance(o, dict):
            stack.extend((v, d + 1) for v in o.values())
        elif isinstance(o, list):
            stack.extend((v, d + 1) for v in o)
    return deepest


def parse(text: str | bytes) -> Any:
    """JSON text → Python, refusing what is too large or too deep to be a record."""
    if len(text) > MAX_RECORD_BYTES:
        raise RecordError(f"the record is {len(text)} bytes, more than a record can be")
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    # Brackets bound the depth before the parser recurses into them.
    if text.count("[") + text.count("{") > MAX_DEPTH and _nesting(text) > MAX_DEPTH:
        raise RecordError(f"the record nests deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as e:
        raise RecordError(f"the record is not valid JSON ({e})") from None


def _nesting(text: str) -> int:
    """The deepest bracket nesting in JSON text, ignoring brackets inside strings."""
    depth = deepest = 0
    in_string = escaped = False
    for c in text:
        if in_string:
            escaped, in_string = (False, True) if escaped else (c == "\\", c != '"')
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
    return deepest


def validate(record: Any) -> dict:
    """The record itself when it matches the schema; else a RecordError naming the first fault."""
    if not isinstance(record, dict):
        raise RecordError("the record is not a JSON object")
    if _depth(record) > MAX_DEPTH:
        raise RecordError(f"the record nests deeper than {MAX_DEPTH} levels")
    error = next(iter(sorted(_validator().iter_errors(record), key=lambda e: list(e.path))), None)
    if error is not None:
        where = "/".join(map(str, error.absolute_path)) or "the record"
        raise RecordError(f"malformed record: {where}: {_short(error.message)}")
    return record


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def load(path: Path) -> dict | None:
    """The validated gencode record a file carries (a sidecar or record .json too); None when it
    carries none; RecordError when it carries a malformed one. Decoder errors pass through."""
    from gencode.runtime.outputs import record_text

    path = Path(path)
    if not path.is_file():
        raise RecordError(f"{path}: not a regular file")
    if path.suffix.lower() == ".json":
        if path.stat().st_size > MAX_RECORD_BYTES:
            raise RecordError(f"the record is {path.stat().st_size} bytes, more than a record can be")  # fmt: skip
        text: str | None = path.read_text(encoding="utf-8", errors="replace")
    else:
        text = record_text(path)
    if not text:
        return None
    try:
        obj = parse(text)
    except RecordError:
        if "gencode.record/" in text:
            raise
        return None  # a comment from some other tool
    if not (isinstance(obj, dict) and str(obj.get("schema", "")).startswith("gencode.record/")):
        return None
    return validate(obj)
