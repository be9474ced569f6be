"""Process memory: read the resident size, give freed heap back to the OS.

Explanations allocate a few hundred MB of short-lived arrays (LIME perturbations, activations).
glibc keeps freed blocks in per-thread arenas, so a server that runs explanations from several
threads grows by the sum of those peaks even though nothing is kept. `trim_heap()` asks glibc to
return free pages (`malloc_trim(0)`, as dask does after tasks); elsewhere it does nothing.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os


@functools.lru_cache(maxsize=1)
def _libc():
    name = ctypes.util.find_library("c")
    try:
        lib = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return lib if lib is not None and hasattr(lib, "malloc_trim") else None


def trim_heap() -> bool:
    """Return freed heap memory to the OS (glibc `malloc_trim(0)`). True if memory was released."""
    lib = _libc()
    return bool(lib.malloc_trim(0)) if lib is not None else False


def rss_mb(pid: int | None = None) -> float:
    """Resident set size of a process (default: this one) in MiB, from /proc (Linux); nan elsewhere."""
    try:
        with open(f"/proc/{pid or os.getpid()}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return float("nan")
