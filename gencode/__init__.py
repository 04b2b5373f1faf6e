"""gencode: a creative-coding language for AI image generation.

The front end (parse → check → compile) imports no torch; the runtime does, lazily.
"""

__version__ = "0.1.0"
