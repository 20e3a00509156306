"""Give the memory of large messages back to the system when they are done with.

glibc's malloc serves large blocks with mmap and unmaps them when freed, but after the first such
block is freed it raises that threshold (up to 32 MiB), so that later multi-megabyte messages are
carved from the heap instead, where what is freed is kept by the process and fragments. A server that
holds a 20 MB message for a moment then keeps several times that for good. Setting the threshold
explicitly turns the adjustment off: every block of at least :data:`MMAP_THRESHOLD` is mapped for itself
and returned when freed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger("smartbcc.memory")

M_MMAP_THRESHOLD = -3           # mallopt() parameter number in glibc's malloc.h
MMAP_THRESHOLD = 256 * 1024     # glibc's default starting value is 128 KiB


def return_large_blocks(threshold: int = MMAP_THRESHOLD) -> bool:
    """Fix malloc's mmap threshold (glibc only; elsewhere nothing to do). True when it was set."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):       # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    done = mallopt(M_MMAP_THRESHOLD, threshold) == 1
    if not done:
        log.debug("mallopt(M_MMAP_THRESHOLD) refused; large messages may leave memory behind")
    return done
