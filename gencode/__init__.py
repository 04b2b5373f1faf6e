"""gencode: a creative-coding language for AI image generation.

The front end (parse → check → compile) imports no torch; the runtime does, lazily.
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    """`gencode.render(...)` and friends, imported on first use (they import torch)."""
    if name in ("render", "load_script", "RenderResult", "RenderError"):
        import importlib

        module = importlib.import_module("gencode.render")  # callable: it renders
        return module if name == "render" else getattr(module, name)
    raise AttributeError(f"module 'gencode' has no attribute {name!r}")
