"""gitguard/heap.py: the file buffers a mirror has freed go back to the system when it
trims, which glibc does not do on its own once they sit below a block still in use."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import ctypes, sys
from gitguard import heap

libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = (ctypes.c_size_t,)
libc.free.argtypes = (ctypes.c_void_p,)
libc.free(libc.malloc(8 << 20))  # a file of 8 MB read whole and freed: the threshold rises
blocks = [libc.malloc(512 << 10) for _ in range(200)]  # 100 MB of file buffers, in the heap
for block in blocks:
    ctypes.memset(block, 1, 512 << 10)
for block in blocks[:-1]:
    libc.free(block)  # the last one still in use keeps the heap from shrinking at its top


def resident() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096


before = resident()
if sys.argv[1] == "trim":
    heap.trim()
print(before - resident())
"""


def returned(mode: str) -> int:
    """Bytes of resident memory the probe gave back after freeing its buffers."""
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return int(out)


def test_freed_file_buffers_are_returned_by_a_trim_and_kept_without_one() -> None:
    assert returned("keep") < 10 << 20  # glibc on its own: the 100 MB stay resident
    assert returned("trim") > 80 << 20


MAPPED = """
import ctypes, sys
from gitguard import heap

if sys.argv[1] == "tuned":
    heap.tune()


class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = (ctypes.c_size_t,)
libc.free.argtypes = (ctypes.c_void_p,)
libc.free(libc.malloc(8 << 20))  # a file of 8 MB read whole, then freed
before = libc.mallinfo2().hblkhd
block = libc.malloc(3 << 20)  # the next file, of 3 MB
print(libc.mallinfo2().hblkhd - before)
libc.free(block)
"""


def mapped(mode: str) -> int:
    """Bytes of the 3 MB buffer that are a mapping of their own."""
    out = subprocess.run([sys.executable, "-c", MAPPED, mode], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return int(out)


def test_a_file_sized_buffer_stays_a_mapping_after_a_bigger_one_was_freed() -> None:
    assert mapped("default") == 0  # glibc raised its threshold: the 3 MB come from a heap
    assert mapped("tuned") >= 3 << 20  # its own mapping, unmapped when freed
