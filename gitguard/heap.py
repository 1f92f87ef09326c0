"""glibc's allocator for long reads: file-sized buffers kept apart, freed memory returned."""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

TRIM_EVERY = 64 << 20  # bytes read between two trims of a mirror
M_MMAP_THRESHOLD = -3  # mallopt(3)
# A block above this is a mapping of its own, unmapped when freed. Above the 1 MB chunks
# every transport reads in: a mapping per chunk costs page faults a third of a mirror's time.
MMAP_THRESHOLD = 2 << 20


def _libc(name: str) -> Callable[..., int] | None:
    try:
        found: Callable[..., int] = getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):  # not glibc: its allocator decides
        return None
    return found


_TRIM = _libc("malloc_trim")


def tune() -> None:
    """Fix glibc's mmap threshold (it would rise to the largest block freed, up to 32 MB,
    and every file buffer would then come from the heaps)."""
    mallopt = _libc("mallopt")
    if mallopt is not None and not mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD):
        log.debug("mallopt refused the mmap threshold; glibc's default stays")


def trim() -> None:
    """Return the free pages of every heap to the system.

    A mirror reads each file of up to 4 MB whole and hands it to deflate threads; the
    buffers below the mmap threshold come from heaps whose freed middle stays resident, one
    heap per thread: a 93,000-file first mirror's job held 229 MB where Python's objects
    were about half of that. A threshold of 256 KB kept every buffer a mapping of its own
    but cost a third more time over SSH; trimming every TRIM_EVERY bytes read costs a few
    milliseconds a time.
    """
    if _TRIM is not None:
        _TRIM(0)
