"""Live: `gencode live` — a script streamed frame by frame, hot-swapped on every good save.

program (script → a checked program, recompiled per frame) → stepper (one frame through the
executor, the picture carried) → engine (the real-time clock, swaps, events) → server (page,
MJPEG, /status) and recorder (MP4 + set log) → replay (the set log → the same frames).
"""
