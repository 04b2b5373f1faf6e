"""Limits on what one script may ask for: each bound written once, read by the stage it guards.

They keep a small hostile input from turning into unbounded work, memory or recursion
(docs/security.md lists them and why each is where it is). Torch-free.
"""

from __future__ import annotations

MAX_ERRORS = 100  # diagnostics of one check; a compiler that prints 20,000 helps nobody
MAX_NESTING = 200  # levels of brackets, calls, operators or `-` chains in one expression
MAX_SCRIPT_BYTES = 1 << 20  # a script or an included file
MAX_INCLUDE_DEPTH = 32  # a.gen includes b.gen includes ... (cycles are refused separately)
MAX_INCLUDES = 500  # include statements expanded in one check, repeats counted
MAX_EXPANDED_BYTES = 16 << 20  # script text checked in all, includes expanded
MAX_IMAGE_BYTES = 256 << 20  # a file `load` reads (hashed at check time)
MAX_AUDIO_BYTES = 1 << 30  # a soundtrack `save ... audio` muxes
MAX_CHECKPOINT_BYTES = 64 << 30  # a model's weight file (Stable Diffusion XL is ~7 GB)
MAX_JSON_BYTES = 100 << 20  # a checkpoint header, a model config, a record
MAX_JSON_DEPTH = 64  # nesting of JSON objects/arrays in those
MAX_NAME_BYTES = 255  # one path component (NAME_MAX on Linux and macOS)
MAX_PATH_BYTES = 1024  # a whole path written in a script
MAX_FRAME_WIDTH = 12  # digits of {frame:0N}: enough for 10^12 frames
MAX_BATCH_ITEMS = 100_000  # seeds x sweep values in one `gencode batch`
