"""Where a render runs: the device (CUDA, then MPS, then CPU), its dtype, its torch thread count,
and CPU allocator tuning.

Input: a device name from `--device` or the script (`auto`, `cpu`, `cuda`, `mps`).
Output: a `torch.device`, the dtype networks run in, and a memory budget for pre-flight checks.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import torch

# glibc mallopt parameters (malloc.h).
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
_MALLOC_TUNED = False


# torch threads a render uses unless told otherwise (`--threads`, `threads=`). One: on a CPU that
# other jobs share, torch's one-per-core default fought them and ran 16x slower (README, "Threads");
# the count is recorded with each file and `reproduce` re-renders with it, since pixels depend on it.
DEFAULT_THREADS = 1
_default_threads: list[int] = [DEFAULT_THREADS]


def set_default_threads(n: int) -> None:
    """The thread count of every render in this process that names none (the CLI's --threads)."""
    _default_threads[0] = max(1, int(n))


def default_threads() -> int:
    return _default_threads[0]


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch's intra-op thread count set to n while the block runs."""
    before = torch.get_num_threads()
    if before != n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def cpu_name() -> str:
    """The CPU's model name: kernels differ between CPUs, so pixels may too."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


class DeviceError(Exception):
    """The requested device is not available on this machine."""


def pick_device(name: str = "auto") -> torch.device:
    """The device for `name`; `auto` is CUDA, then MPS, then CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceError("device 'cuda' was asked for, but torch sees no CUDA GPU here")
    if name == "mps" and not _mps_available():
        raise DeviceError("device 'mps' was asked for, but this torch build has no MPS support")
    if name not in ("cpu", "cuda", "mps"):
        raise DeviceError(f"unknown device '{name}' (use auto, cpu, cuda or mps)")
    return torch.device(name)


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def network_dtype(device: torch.device) -> torch.dtype:
    """Half precision on CUDA (fast and accurate enough for sampling); float32 elsewhere."""
    return torch.float16 if device.type == "cuda" else torch.float32


def memory_budget(device: torch.device) -> int:
    """Bytes a render may plan to hold: free GPU memory, else most of the available RAM."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free * 0.9)
    return int(_available_ram() * 0.8)


def _available_ram() -> int:
    """MemAvailable from /proc/meminfo, else total physical memory, else a generous guess."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 16 << 30


def tune_malloc() -> bool:
    """Raise glibc's malloc thresholds once: big tensors stop being mmapped and unmapped per step.

    Measured on the project's CPU: 25-35% faster and steadier timings at batch 8-32.
    """
    global _MALLOC_TUNED
    if _MALLOC_TUNED or not sys.platform.startswith("linux"):
        return _MALLOC_TUNED
    path = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(path or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False  # musl and other libcs have no mallopt
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1
    ok &= mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1
    ok &= mallopt(M_TOP_PAD, 256 << 20) == 1
    _MALLOC_TUNED = bool(ok)
    return _MALLOC_TUNED


def trim_heap() -> bool:
    """Hand the heap's free memory back to the OS (glibc's `malloc_trim`). `tune_malloc` keeps
    up to a GiB of freed memory for speed; a process that runs for hours (`gencode live`) trims
    now and then, in idle time, so its resident memory stays level. False where there is no glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.malloc_trim(0))  # ctypes releases the GIL during the call
    except (OSError, AttributeError):
        return False
