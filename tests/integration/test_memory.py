"""A large message's memory goes back to the system once it is freed (gateway.ops.memory)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import sys
from gateway.ops.memory import return_large_blocks

def rss_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

if sys.argv[1] == "fixed":
    assert return_large_blocks()
size = 20 * 1024 * 1024
start = rss_mib()
peak = 0
for _ in range(3):             # messages come and go
    message = bytearray(b"m") * size
    peak = max(peak, rss_mib() - start)
    del message
print(round(peak), round(rss_mib() - start))
"""


def _probe(mode: str) -> tuple[int, int]:
    done = subprocess.run([sys.executable, "-c", PROBE, mode], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=True)
    held, kept = done.stdout.split()
    return int(held), int(kept)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc and /proc are Linux's")
def test_a_freed_message_is_given_back() -> None:
    held, kept = _probe("fixed")
    assert held >= 19 and kept <= 2, (held, kept)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc and /proc are Linux's")
def test_without_the_setting_glibc_keeps_it() -> None:
    """The control: what the setting prevents does happen here (else the test above proves nothing)."""
    held, kept = _probe("default")
    assert held >= 19 and kept >= 19, (held, kept)
