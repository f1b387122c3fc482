"""Give freed memory back to the system between the steps of a sync.

A sync's process must stay small on a small machine (under 400 MB at a million students,
benchmarks/RESULTS.md). What it holds at any moment is bounded: a few pages in flight, DuckDB's
buffers (staging/runfile.py caps them), a window of rows under validation. But glibc keeps what
was freed in its arenas, one per thread that allocated (the prefetching thread, DuckDB's
threads), so the resident size would follow what the process once held, and a million-student
run would creep up page after page; Arrow's allocator (validation) keeps its own. Both are
given back (`malloc_trim`, Arrow's `release_unused`); it costs milliseconds, so
it runs at step boundaries (an entity fetched, validation done), never per page.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from collections.abc import Callable


@functools.cache
def _trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None
    return trim


def release() -> None:
    """Return the memory freed so far to the system: Arrow's pool (validation reads windows of
    rows through Arrow, whose allocator keeps what it freed) and glibc's arenas."""
    arrow = sys.modules.get("pyarrow")  # only when validation brought it in
    if arrow is not None:
        arrow.default_memory_pool().release_unused()
    trim = _trim()
    if trim is not None:
        trim(0)
