"""The heap settings (gitguard/heap.py): after a big buffer is freed, the next file-sized
buffer is still a mapping of its own, returned to the system when freed, which glibc's
default (a threshold that rises to the largest block freed) does not do."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
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
libc.free.argtypes = (ctypes.c_void_p,)
big = libc.malloc(8 << 20)  # a file of 8 MB read whole, then freed
libc.free(big)
before = libc.mallinfo2().hblkhd
block = libc.malloc(1 << 20)  # the next file, of 1 MB
print(libc.mallinfo2().hblkhd - before)
libc.free(block)
"""


def mapped_bytes(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return int(out)


def test_a_file_buffer_stays_a_mapping_of_its_own_after_a_bigger_one_was_freed() -> None:
    assert mapped_bytes("default") == 0  # glibc raised its threshold: the 1 MB is in a heap
    assert mapped_bytes("tuned") >= 1 << 20  # its own mapping, unmapped when freed
