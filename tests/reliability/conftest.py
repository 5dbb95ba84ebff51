"""Hypothesis profiles for the fuzz tests, chosen with HYPOTHESIS_PROFILE (default ``ci``).

``ci`` is derandomized (the same cases on every run, so CI never fails on luck) and short; ``long``
(``make fuzz``) is random, keeps failing cases in the example database, and runs for hours. The profiles
are only registered here: each fuzz test applies its own via ``reliability_helpers.fuzz_rounds``, so
loading this folder never changes the settings of other test folders.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

_SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,  # a loaded 2-core machine: the hard per-case bound is CASE_SECONDS instead
    database=None,
    print_blob=True,
    suppress_health_check=_SLOW_IS_FINE,
)
settings.register_profile(
    "long",
    max_examples=200_000,
    deadline=None,
    print_blob=True,
    suppress_health_check=_SLOW_IS_FINE,
)


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """The in-process daemon tests start observers, workers and reconcilers: none may outlive its test."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 10
    leaked: list[threading.Thread] = []
    while time.monotonic() < deadline:
        leaked = [thread for thread in threading.enumerate() if thread not in before and thread.is_alive()]
        if not leaked:
            return
        time.sleep(0.05)
    raise AssertionError(f"threads left running: {[thread.name for thread in leaked]}")
