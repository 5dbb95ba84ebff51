"""The allocator tuning: large per-file buffers are reused instead of mapped afresh for every file."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from watcher.pipeline.allocator import tune_allocator

# In a fresh interpreter: fill and drop a few buffers of one to four MiB 200 times, as a worker does per
# file (source chunks, the output's write buffer, the copied image data), and print the minor page faults
# that took.
_FAULTS = """
import resource, sys
from watcher.pipeline.allocator import tune_allocator
if sys.argv[1] == "tuned":
    assert tune_allocator()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for n in range(200):
    held = [b"x" * ((1 + n % 4) << 20) for _ in range(3)]
    del held
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", _FAULTS, mode], capture_output=True, text=True, check=True)
    return int(done.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_a_tuned_process_reuses_its_large_buffers_instead_of_faulting_them_in_again() -> None:
    plain, tuned = _faults("plain"), _faults("tuned")
    assert plain > 200 * 256  # the buffers mapped and faulted in afresh, file after file
    assert tuned < plain / 20


def test_tuning_is_harmless_to_call_again() -> None:
    assert tune_allocator() in (True, False)
    assert tune_allocator() in (True, False)
