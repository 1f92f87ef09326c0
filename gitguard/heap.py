"""glibc's allocator set for long scans: big buffers go back to the system when freed."""

from __future__ import annotations

import ctypes
import logging

log = logging.getLogger(__name__)

# mallopt(3) parameters
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MMAP_THRESHOLD = 256 << 10  # bytes: a larger block is its own mapping, unmapped when freed
ARENAS = 2  # the main thread's heap and one the deflate threads share


def tune() -> None:
    """Fix glibc's mmap threshold and cap its arenas (nothing on another C library).

    A mirror reads each file of up to 8 MB whole and hands it to deflate threads. glibc
    raises its mmap threshold to the largest block freed so far (up to 32 MB), after which
    such buffers come from heaps whose freed middle is never given back, one heap per
    thread: a 93,000-file first mirror's job held 229 MB where Python's objects were about
    half of that. A fixed threshold keeps every file buffer a mapping of its own.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc: its allocator decides
        return
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    if not (mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) and mallopt(M_ARENA_MAX, ARENAS)):
        log.debug("mallopt refused the heap settings; glibc's defaults stay")
